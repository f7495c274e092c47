/* Unit tests for CHORD-RELOAD routing state: identifier arithmetic, neighbour
 * sets against a sorted ring, responsibility, greedy routing and junk input. */
#include <math.h>
#include <string.h>

#include "disco-chord.h"

static DiscoReloadNodeId
id_hex (const char *hex)
{
  DiscoReloadNodeId id;
  g_assert_true (disco_reload_node_id_from_hex (hex, &id));
  return id;
}

static DiscoReloadNodeId
id_random (GRand *r)
{
  DiscoReloadNodeId id;
  for (int i = 0; i < DISCO_RELOAD_NODE_ID_LENGTH; i++)
    id.id[i] = (guint8)g_rand_int_range (r, 0, 256);
  return id;
}

static void
test_id_arithmetic (void)
{
  DiscoReloadNodeId a = id_hex ("00000000000000000000000000000010");
  DiscoReloadNodeId b = id_hex ("00000000000000000000000000000020");
  DiscoReloadNodeId top = id_hex ("fffffffffffffffffffffffffffffff0");
  DiscoReloadNodeId out;

  g_assert_cmpint (disco_chord_id_compare (&a, &b), <, 0);
  g_assert_true (disco_chord_id_in_range (&b, &a, &b));   /* (a, b] includes b */
  g_assert_false (disco_chord_id_in_range (&a, &a, &b));  /* but not a */
  g_assert_true (disco_chord_id_in_range (&a, &top, &b)); /* wraps past zero */
  g_assert_false (disco_chord_id_in_range (&top, &a, &b));
  g_assert_true (disco_chord_id_in_range (&top, &a, &a)); /* whole ring */

  disco_chord_id_distance (&top, &a, &out);
  g_autofree char *d = disco_reload_node_id_to_hex (&out);
  g_assert_cmpstr (d, ==, "00000000000000000000000000000020");

  /* 2^64 carries from the low into the high word. */
  DiscoReloadNodeId lo_full = id_hex ("0000000000000000ffffffffffffffff");
  disco_chord_id_add_pow2 (&lo_full, 0, &out);
  g_autofree char *c = disco_reload_node_id_to_hex (&out);
  g_assert_cmpstr (c, ==, "00000000000000010000000000000000");
  disco_chord_id_add_pow2 (&top, 127, &out);
  g_autofree char *w = disco_reload_node_id_to_hex (&out);
  g_assert_cmpstr (w, ==, "7ffffffffffffffffffffffffffffff0");

  g_assert_false (disco_reload_node_id_from_hex ("abc", &out));
  g_assert_false (disco_reload_node_id_from_hex ("zz000000000000000000000000000000", &out));
}

static gint
cmp_ids (gconstpointer a, gconstpointer b)
{
  return disco_chord_id_compare (a, b);
}

typedef struct
{
  GArray *ids; /* sorted */
  DiscoChordTable **tables;
  guint n;
} Ring;

static void
ring_free (Ring *ring)
{
  for (guint i = 0; i < ring->n; i++)
    disco_chord_table_unref (ring->tables[i]);
  g_free (ring->tables);
  g_array_unref (ring->ids);
}

/* The peer responsible for @key on the sorted ring: the first ID >= key, wrapping. */
static guint
true_owner (Ring *ring, const DiscoReloadNodeId *key)
{
  for (guint i = 0; i < ring->n; i++)
    if (disco_chord_id_compare (&g_array_index (ring->ids, DiscoReloadNodeId, i), key) >= 0)
      return i;
  return 0;
}

static guint
index_of (Ring *ring, const DiscoReloadNodeId *id)
{
  for (guint i = 0; i < ring->n; i++)
    if (disco_reload_node_id_equal (&g_array_index (ring->ids, DiscoReloadNodeId, i), id))
      return i;
  g_assert_not_reached ();
}

/* Builds a ring where each peer links only to what CHORD-RELOAD keeps: its 3
 * successors, 3 predecessors and the true successor of each finger target. */
static void
ring_build (Ring *ring, guint n, guint32 seed)
{
  g_autoptr (GRand) r = g_rand_new_with_seed (seed);

  ring->n = n;
  ring->ids = g_array_new (FALSE, FALSE, sizeof (DiscoReloadNodeId));
  for (guint i = 0; i < n; i++)
    {
      DiscoReloadNodeId id = id_random (r);
      g_array_append_val (ring->ids, id);
    }
  g_array_sort (ring->ids, cmp_ids);
  ring->tables = g_new0 (DiscoChordTable *, n);
  for (guint i = 0; i < n; i++)
    {
      const DiscoReloadNodeId *self = &g_array_index (ring->ids, DiscoReloadNodeId, i);
      ring->tables[i] = disco_chord_table_new (self);
      for (guint k = 1; k <= DISCO_CHORD_NEIGHBORS && k < n; k++)
        {
          disco_chord_table_add_peer (ring->tables[i],
                                      &g_array_index (ring->ids, DiscoReloadNodeId, (i + k) % n));
          disco_chord_table_add_peer (
              ring->tables[i], &g_array_index (ring->ids, DiscoReloadNodeId, (i + n - k) % n));
        }
      for (guint f = 0; f < DISCO_CHORD_FINGERS; f++)
        {
          DiscoReloadNodeId target;
          disco_chord_table_finger_target (ring->tables[i], f, &target);
          disco_chord_table_add_peer (ring->tables[i], &g_array_index (ring->ids, DiscoReloadNodeId,
                                                                       true_owner (ring, &target)));
        }
    }
}

static void
test_ring_neighbours (void)
{
  Ring ring;
  ring_build (&ring, 20, 42);

  for (guint i = 0; i < ring.n; i++)
    {
      const DiscoReloadNodeId *succ, *pred;
      guint ns = disco_chord_table_get_successors (ring.tables[i], &succ);
      guint np = disco_chord_table_get_predecessors (ring.tables[i], &pred);
      g_assert_cmpuint (ns, ==, 3);
      g_assert_cmpuint (np, ==, 3);
      for (guint k = 0; k < 3; k++)
        {
          g_assert_cmpuint (index_of (&ring, &succ[k]), ==, (i + k + 1) % ring.n);
          g_assert_cmpuint (index_of (&ring, &pred[k]), ==, (i + ring.n - k - 1) % ring.n);
        }
      /* Each finger is the first peer at or after its target on the real ring. */
      for (guint f = 0; f < DISCO_CHORD_FINGERS; f++)
        {
          DiscoReloadNodeId target;
          disco_chord_table_finger_target (ring.tables[i], f, &target);
          guint owner = true_owner (&ring, &target);
          if (owner == i) /* the target is our own arc: the finger is our successor */
            owner = (i + 1) % ring.n;
          g_assert_cmpuint (index_of (&ring, disco_chord_table_get_finger (ring.tables[i], f)), ==,
                            owner);
        }
      g_assert_cmpuint (disco_chord_table_distinct_fingers (ring.tables[i]), >=, 2);
    }
  ring_free (&ring);
}

/* Every key has exactly one responsible peer, the true owner, and greedy
 * routing from every peer reaches it without loops in O(log N) hops. */
static void
test_ring_routing (gconstpointer data)
{
  guint n = GPOINTER_TO_UINT (data);
  g_autoptr (GRand) r = g_rand_new_with_seed (7 + n);
  Ring ring;
  guint total_hops = 0, max_hops = 0, routes = 0;

  ring_build (&ring, n, 1000 + n);
  for (guint k = 0; k < 200; k++)
    {
      DiscoReloadNodeId key = id_random (r);
      guint owner = true_owner (&ring, &key);
      guint responsible = 0;
      for (guint i = 0; i < ring.n; i++)
        if (disco_chord_table_is_responsible (ring.tables[i], &key))
          {
            responsible++;
            g_assert_cmpuint (i, ==, owner);
          }
      g_assert_cmpuint (responsible, ==, 1);

      for (guint start = 0; start < ring.n; start += 3)
        {
          guint at = start, hops = 0;
          const DiscoReloadNodeId *next;
          while ((next = disco_chord_table_next_hop (ring.tables[at], &key)) != NULL)
            {
              g_assert_true (disco_chord_table_has_peer (ring.tables[at], next));
              at = index_of (&ring, next);
              hops++;
              g_assert_cmpuint (hops, <=, ring.n); /* no loop */
            }
          g_assert_cmpuint (at, ==, owner);
          total_hops += hops;
          max_hops = MAX (max_hops, hops);
          routes++;
        }
    }
  double mean = (double)total_hops / routes;
  g_test_message ("N=%u mean hops %.2f (Chord expects %.2f), max %u", n, mean, 0.5 * log2 (n),
                  max_hops);
  g_assert_cmpuint (max_hops, <=, (guint)ceil (log2 (n)) + 2);
  ring_free (&ring);
}

/* The alternates never overshoot: each precedes (or is) the destination,
 * the first is next_hop()'s choice, and routing over the k-th alternate
 * of every hop still ends at the true owner. */
static void
test_next_hops (void)
{
  g_autoptr (GRand) r = g_rand_new_with_seed (99);
  Ring ring;
  ring_build (&ring, 40, 4242);
  for (guint k = 0; k < 100; k++)
    {
      DiscoReloadNodeId key = id_random (r);
      guint owner = true_owner (&ring, &key);
      g_autoptr (GArray) hops = g_array_new (FALSE, FALSE, sizeof (DiscoReloadNodeId));
      g_assert_cmpuint (disco_chord_table_next_hops (ring.tables[owner], &key, hops), ==, 0);
      for (guint alt = 0; alt < 3; alt++)
        {
          guint at = (owner + 1 + k) % ring.n, steps = 0;
          for (;;)
            {
              g_array_set_size (hops, 0);
              guint n = disco_chord_table_next_hops (ring.tables[at], &key, hops);
              if (n == 0)
                break;
              const DiscoReloadNodeId *best = disco_chord_table_next_hop (ring.tables[at], &key);
              g_assert_true (
                  disco_reload_node_id_equal (best, &g_array_index (hops, DiscoReloadNodeId, 0)));
              for (guint j = 0; j < n; j++)
                {
                  const DiscoReloadNodeId *h = &g_array_index (hops, DiscoReloadNodeId, j);
                  DiscoReloadNodeId dh, dk;
                  disco_chord_id_distance (disco_chord_table_get_self (ring.tables[at]), h, &dh);
                  disco_chord_id_distance (disco_chord_table_get_self (ring.tables[at]), &key, &dk);
                  /* Only the successor may lie past the key: it owns it. */
                  if (disco_chord_id_compare (&dh, &dk) > 0)
                    {
                      g_assert_cmpuint (n, ==, 1);
                      g_assert_cmpuint (index_of (&ring, h), ==, owner);
                    }
                  if (j > 0)
                    {
                      DiscoReloadNodeId dp;
                      disco_chord_id_distance (disco_chord_table_get_self (ring.tables[at]),
                                               &g_array_index (hops, DiscoReloadNodeId, j - 1),
                                               &dp);
                      g_assert_cmpint (disco_chord_id_compare (&dh, &dp), <, 0);
                    }
                }
              at = index_of (&ring, &g_array_index (hops, DiscoReloadNodeId, MIN (alt, n - 1)));
              g_assert_cmpuint (++steps, <=, ring.n);
            }
          g_assert_cmpuint (at, ==, owner);
        }
    }
  ring_free (&ring);
}

static void
test_junk_ids (void)
{
  DiscoReloadNodeId self = id_hex ("80000000000000000000000000000000");
  DiscoReloadNodeId zero = { { 0 } };
  DiscoReloadNodeId wild;
  memset (wild.id, 0xff, sizeof wild.id);
  g_autoptr (DiscoChordTable) t = disco_chord_table_new (&self);

  g_assert_cmpint (disco_chord_table_add_peer (t, &self), ==, DISCO_CHORD_CHANGED_NONE);
  g_assert_cmpint (disco_chord_table_add_peer (t, &zero), ==, DISCO_CHORD_CHANGED_NONE);
  g_assert_cmpint (disco_chord_table_add_peer (t, &wild), ==, DISCO_CHORD_CHANGED_NONE);
  g_assert_cmpuint (disco_chord_table_peer_count (t), ==, 0);
  g_assert_true (disco_chord_table_is_responsible (t, &zero));
  g_assert_null (disco_chord_table_next_hop (t, &wild));
  g_assert_cmpint (disco_chord_table_remove_peer (t, &zero), ==, DISCO_CHORD_CHANGED_NONE);

  DiscoReloadNodeId p = id_hex ("90000000000000000000000000000000");
  DiscoReloadNodeId q = id_hex ("10000000000000000000000000000000");
  DiscoChordChange c = disco_chord_table_add_peer (t, &p);
  g_assert_true (c & DISCO_CHORD_CHANGED_SUCCESSORS);
  g_assert_true (c & DISCO_CHORD_CHANGED_PREDECESSORS);
  g_assert_cmpint (disco_chord_table_add_peer (t, &p), ==, DISCO_CHORD_CHANGED_NONE);

  /* An Update full of junk, duplicates and already-known peers yields only new candidates. */
  DiscoReloadChordUpdate u = { 0 };
  u.type = DISCO_RELOAD_CHORD_UPDATE_FULL;
  u.predecessors = g_array_new (FALSE, FALSE, sizeof (DiscoReloadNodeId));
  u.successors = g_array_new (FALSE, FALSE, sizeof (DiscoReloadNodeId));
  u.fingers = g_array_new (FALSE, FALSE, sizeof (DiscoReloadNodeId));
  g_array_append_val (u.predecessors, self);
  g_array_append_val (u.predecessors, zero);
  g_array_append_val (u.successors, wild);
  g_array_append_val (u.successors, p);
  g_array_append_val (u.fingers, q);
  g_array_append_val (u.fingers, q);
  g_autoptr (GArray) cand = g_array_new (FALSE, FALSE, sizeof (DiscoReloadNodeId));
  disco_chord_table_collect_update (t, &u, cand);
  g_assert_cmpuint (cand->len, ==, 1);
  g_assert_true (disco_reload_node_id_equal (&g_array_index (cand, DiscoReloadNodeId, 0), &q));
  g_assert_cmpuint (disco_chord_table_peer_count (t), ==, 1);

  /* peer_ready carries no lists and teaches nothing. */
  g_array_set_size (cand, 0);
  u.type = DISCO_RELOAD_CHORD_UPDATE_PEER_READY;
  disco_chord_table_collect_update (t, &u, cand);
  g_assert_cmpuint (cand->len, ==, 0);
  g_array_unref (u.predecessors);
  g_array_unref (u.successors);
  g_array_unref (u.fingers);

  g_assert_true (disco_chord_table_remove_peer (t, &p) & DISCO_CHORD_CHANGED_SUCCESSORS);
  g_assert_cmpuint (disco_chord_table_peer_count (t), ==, 0);
}

/* A peer far around the ring that is no neighbour only changes fingers. */
static void
test_change_flags (void)
{
  DiscoReloadNodeId self = id_hex ("00000000000000000000000000000000");
  self.id[15] = 1;
  g_autoptr (DiscoChordTable) t = disco_chord_table_new (&self);
  const char *near[] = { "00000000000000000000000000000002", "00000000000000000000000000000003",
                         "00000000000000000000000000000004", "f0000000000000000000000000000000",
                         "f1000000000000000000000000000000", "f2000000000000000000000000000000" };
  for (gsize i = 0; i < G_N_ELEMENTS (near); i++)
    {
      DiscoReloadNodeId id = id_hex (near[i]);
      disco_chord_table_add_peer (t, &id);
    }
  DiscoReloadNodeId mid = id_hex ("40000000000000000000000000000000");
  g_assert_cmpint (disco_chord_table_add_peer (t, &mid), ==, DISCO_CHORD_CHANGED_FINGERS);
  /* 0x30.. becomes the first peer after target self + 2^125; 0x38.. then
   * follows it without being first after any target, nor a neighbour. */
  DiscoReloadNodeId a = id_hex ("30000000000000000000000000000000");
  DiscoReloadNodeId b = id_hex ("38000000000000000000000000000000");
  g_assert_cmpint (disco_chord_table_add_peer (t, &a), ==, DISCO_CHORD_CHANGED_FINGERS);
  g_assert_cmpint (disco_chord_table_add_peer (t, &b), ==, DISCO_CHORD_CHANGED_NONE);
  g_assert_true (disco_chord_table_has_peer (t, &b));

  json_object *j = disco_chord_table_to_json (t);
  json_object *succ;
  g_assert_true (json_object_object_get_ex (j, "successors", &succ));
  g_assert_cmpuint (json_object_array_length (succ), ==, 3);
  g_assert_cmpstr (json_object_get_string (json_object_array_get_idx (succ, 0)), ==,
                   "00000000000000000000000000000002");
  json_object_put (j);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/chord/id-arithmetic", test_id_arithmetic);
  g_test_add_func ("/chord/ring-neighbours", test_ring_neighbours);
  g_test_add_data_func ("/chord/routing/20", GUINT_TO_POINTER (20), test_ring_routing);
  g_test_add_data_func ("/chord/routing/100", GUINT_TO_POINTER (100), test_ring_routing);
  g_test_add_data_func ("/chord/routing/1000", GUINT_TO_POINTER (1000), test_ring_routing);
  g_test_add_func ("/chord/next-hops", test_next_hops);
  g_test_add_func ("/chord/junk-ids", test_junk_ids);
  g_test_add_func ("/chord/change-flags", test_change_flags);
  return g_test_run ();
}
