/* chord-table.c: successors, predecessors, fingers and next-hop selection. */
#define G_LOG_DOMAIN "disco-chord"

#include "disco-chord.h"

#include <string.h>

struct _DiscoChordTable
{
  gatomicrefcount ref;
  DiscoReloadNodeId self;
  /* Every linked peer, sorted by clockwise distance from self, so successors
   * are at the front, predecessors at the back, and fingers are found by
   * binary search. */
  GArray *peers; /* DiscoReloadNodeId */
  GArray *dist;  /* DiscoReloadNodeId: distance(self, peers[i]) */
  DiscoReloadNodeId preds[DISCO_CHORD_NEIGHBORS];
  guint n_preds;
};

static gboolean
id_is_zero (const DiscoReloadNodeId *id)
{
  for (int i = 0; i < DISCO_RELOAD_NODE_ID_LENGTH; i++)
    if (id->id[i])
      return FALSE;
  return TRUE;
}

DiscoChordTable *
disco_chord_table_new (const DiscoReloadNodeId *self)
{
  DiscoChordTable *t = g_new0 (DiscoChordTable, 1);
  g_atomic_ref_count_init (&t->ref);
  t->self = *self;
  t->peers = g_array_new (FALSE, FALSE, sizeof (DiscoReloadNodeId));
  t->dist = g_array_new (FALSE, FALSE, sizeof (DiscoReloadNodeId));
  return t;
}

DiscoChordTable *
disco_chord_table_ref (DiscoChordTable *t)
{
  g_atomic_ref_count_inc (&t->ref);
  return t;
}

void
disco_chord_table_unref (DiscoChordTable *t)
{
  if (t == NULL || !g_atomic_ref_count_dec (&t->ref))
    return;
  g_array_unref (t->peers);
  g_array_unref (t->dist);
  g_free (t);
}

const DiscoReloadNodeId *
disco_chord_table_get_self (DiscoChordTable *t)
{
  return &t->self;
}

/* Index of the first peer whose distance from self is >= @d. */
static guint
lower_bound (DiscoChordTable *t, const DiscoReloadNodeId *d)
{
  guint lo = 0, hi = t->dist->len;
  while (lo < hi)
    {
      guint mid = (lo + hi) / 2;
      if (disco_chord_id_compare (&g_array_index (t->dist, DiscoReloadNodeId, mid), d) < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

static void
refresh_preds (DiscoChordTable *t)
{
  t->n_preds = MIN (t->peers->len, DISCO_CHORD_NEIGHBORS);
  for (guint i = 0; i < t->n_preds; i++)
    t->preds[i] = g_array_index (t->peers, DiscoReloadNodeId, t->peers->len - 1 - i);
}

/* A snapshot of the parts whose change matters to the node. */
typedef struct
{
  DiscoReloadNodeId succ[DISCO_CHORD_NEIGHBORS], pred[DISCO_CHORD_NEIGHBORS];
  guint n_succ, n_pred;
  DiscoReloadNodeId fingers[DISCO_CHORD_FINGERS];
} Snapshot;

static void
snapshot (DiscoChordTable *t, Snapshot *s)
{
  memset (s, 0, sizeof *s);
  s->n_succ = MIN (t->peers->len, DISCO_CHORD_NEIGHBORS);
  for (guint i = 0; i < s->n_succ; i++)
    s->succ[i] = g_array_index (t->peers, DiscoReloadNodeId, i);
  s->n_pred = t->n_preds;
  memcpy (s->pred, t->preds, sizeof t->preds);
  for (guint i = 0; i < DISCO_CHORD_FINGERS; i++)
    {
      const DiscoReloadNodeId *f = disco_chord_table_get_finger (t, i);
      if (f)
        s->fingers[i] = *f;
    }
}

static DiscoChordChange
diff (const Snapshot *a, const Snapshot *b)
{
  DiscoChordChange c = DISCO_CHORD_CHANGED_NONE;
  if (a->n_succ != b->n_succ || memcmp (a->succ, b->succ, a->n_succ * sizeof a->succ[0]) != 0)
    c |= DISCO_CHORD_CHANGED_SUCCESSORS;
  if (a->n_pred != b->n_pred || memcmp (a->pred, b->pred, a->n_pred * sizeof a->pred[0]) != 0)
    c |= DISCO_CHORD_CHANGED_PREDECESSORS;
  if (memcmp (a->fingers, b->fingers, sizeof a->fingers) != 0)
    c |= DISCO_CHORD_CHANGED_FINGERS;
  return c;
}

static gboolean
acceptable (DiscoChordTable *t, const DiscoReloadNodeId *peer)
{
  return !id_is_zero (peer) && !disco_reload_node_id_is_wildcard (peer)
         && !disco_reload_node_id_equal (peer, &t->self);
}

DiscoChordChange
disco_chord_table_add_peer (DiscoChordTable *t, const DiscoReloadNodeId *peer)
{
  DiscoReloadNodeId d;
  Snapshot before, after;

  if (!acceptable (t, peer))
    return DISCO_CHORD_CHANGED_NONE;
  disco_chord_id_distance (&t->self, peer, &d);
  guint i = lower_bound (t, &d);
  if (i < t->dist->len
      && disco_chord_id_compare (&g_array_index (t->dist, DiscoReloadNodeId, i), &d) == 0)
    return DISCO_CHORD_CHANGED_NONE;

  snapshot (t, &before);
  g_array_insert_val (t->peers, i, *peer);
  g_array_insert_val (t->dist, i, d);
  refresh_preds (t);
  snapshot (t, &after);
  return diff (&before, &after);
}

DiscoChordChange
disco_chord_table_remove_peer (DiscoChordTable *t, const DiscoReloadNodeId *peer)
{
  DiscoReloadNodeId d;
  Snapshot before, after;

  disco_chord_id_distance (&t->self, peer, &d);
  guint i = lower_bound (t, &d);
  if (i >= t->dist->len
      || disco_chord_id_compare (&g_array_index (t->dist, DiscoReloadNodeId, i), &d) != 0)
    return DISCO_CHORD_CHANGED_NONE;

  snapshot (t, &before);
  g_array_remove_index (t->peers, i);
  g_array_remove_index (t->dist, i);
  refresh_preds (t);
  snapshot (t, &after);
  return diff (&before, &after);
}

gboolean
disco_chord_table_has_peer (DiscoChordTable *t, const DiscoReloadNodeId *peer)
{
  DiscoReloadNodeId d;
  disco_chord_id_distance (&t->self, peer, &d);
  guint i = lower_bound (t, &d);
  return i < t->dist->len
         && disco_chord_id_compare (&g_array_index (t->dist, DiscoReloadNodeId, i), &d) == 0;
}

guint
disco_chord_table_peer_count (DiscoChordTable *t)
{
  return t->peers->len;
}

guint
disco_chord_table_get_successors (DiscoChordTable *t, const DiscoReloadNodeId **out)
{
  *out = (const DiscoReloadNodeId *)t->peers->data;
  return MIN (t->peers->len, DISCO_CHORD_NEIGHBORS);
}

guint
disco_chord_table_get_predecessors (DiscoChordTable *t, const DiscoReloadNodeId **out)
{
  *out = t->preds;
  return t->n_preds;
}

void
disco_chord_table_finger_target (DiscoChordTable *t, guint i, DiscoReloadNodeId *out)
{
  g_return_if_fail (i < DISCO_CHORD_FINGERS);
  disco_chord_id_add_pow2 (&t->self, DISCO_CHORD_FINGERS - 1 - i, out);
}

const DiscoReloadNodeId *
disco_chord_table_get_finger (DiscoChordTable *t, guint i)
{
  DiscoReloadNodeId d = { { 0 } };

  g_return_val_if_fail (i < DISCO_CHORD_FINGERS, NULL);
  if (t->peers->len == 0)
    return NULL;
  /* distance(self, target) is exactly 2^(127 - i). */
  disco_chord_id_add_pow2 (&d, DISCO_CHORD_FINGERS - 1 - i, &d);
  guint idx = lower_bound (t, &d);
  /* Past the last peer the first peer on the ring (our successor) follows. */
  return &g_array_index (t->peers, DiscoReloadNodeId, idx < t->peers->len ? idx : 0);
}

guint
disco_chord_table_distinct_fingers (DiscoChordTable *t)
{
  guint n = 0;
  const DiscoReloadNodeId *prev = NULL;
  for (guint i = 0; i < DISCO_CHORD_FINGERS; i++)
    {
      const DiscoReloadNodeId *f = disco_chord_table_get_finger (t, i);
      if (f && (!prev || !disco_reload_node_id_equal (f, prev)))
        n++;
      prev = f;
    }
  return n;
}

gboolean
disco_chord_table_is_responsible (DiscoChordTable *t, const DiscoReloadNodeId *id)
{
  if (t->peers->len == 0)
    return TRUE;
  return disco_chord_id_in_range (id, &t->preds[0], &t->self);
}

const DiscoReloadNodeId *
disco_chord_table_next_hop (DiscoChordTable *t, const DiscoReloadNodeId *dest)
{
  DiscoReloadNodeId d;

  if (disco_chord_table_is_responsible (t, dest))
    return NULL;
  const DiscoReloadNodeId *succ = &g_array_index (t->peers, DiscoReloadNodeId, 0);
  if (disco_chord_id_in_range (dest, &t->self, succ))
    return succ;

  /* The closest known peer that precedes @dest, i.e. the largest distance
   * from self still below distance(self, dest).  An exact match is the
   * destination peer itself. */
  disco_chord_id_distance (&t->self, dest, &d);
  guint i = lower_bound (t, &d);
  if (i < t->dist->len
      && disco_chord_id_compare (&g_array_index (t->dist, DiscoReloadNodeId, i), &d) == 0)
    return &g_array_index (t->peers, DiscoReloadNodeId, i);
  return &g_array_index (t->peers, DiscoReloadNodeId, i - 1);
}

guint
disco_chord_table_next_hops (DiscoChordTable *t, const DiscoReloadNodeId *dest, GArray *out)
{
  DiscoReloadNodeId d;
  guint before = out->len;

  if (disco_chord_table_is_responsible (t, dest))
    return 0;
  /* Every known peer that precedes @dest (or is it), closest to @dest
   * first: the greedy choice, then the ones that make less progress but
   * still never overshoot. */
  disco_chord_id_distance (&t->self, dest, &d);
  guint i = lower_bound (t, &d);
  if (i < t->dist->len
      && disco_chord_id_compare (&g_array_index (t->dist, DiscoReloadNodeId, i), &d) == 0)
    g_array_append_val (out, g_array_index (t->peers, DiscoReloadNodeId, i));
  else if (i == 0)
    g_array_append_val (out, g_array_index (t->peers, DiscoReloadNodeId, 0)); /* in (self, succ) */
  for (; i > 0; i--)
    g_array_append_val (out, g_array_index (t->peers, DiscoReloadNodeId, i - 1));
  return out->len - before;
}

guint
disco_chord_table_replica_peers (DiscoChordTable *t, guint count, const DiscoReloadNodeId **out)
{
  *out = (const DiscoReloadNodeId *)t->peers->data;
  return count ? MIN (count - 1, t->peers->len) : 0;
}

static void
collect (DiscoChordTable *t, const GArray *ids, GArray *candidates)
{
  for (guint i = 0; ids && i < ids->len; i++)
    {
      const DiscoReloadNodeId *id = &g_array_index (ids, DiscoReloadNodeId, i);
      if (!acceptable (t, id) || disco_chord_table_has_peer (t, id))
        continue;
      gboolean dup = FALSE;
      for (guint j = 0; candidates && j < candidates->len && !dup; j++)
        dup = disco_reload_node_id_equal (id, &g_array_index (candidates, DiscoReloadNodeId, j));
      if (!dup && candidates)
        g_array_append_val (candidates, *id);
    }
}

void
disco_chord_table_collect_update (DiscoChordTable *t, const DiscoReloadChordUpdate *update,
                                  GArray *candidates)
{
  if (update->type != DISCO_RELOAD_CHORD_UPDATE_NEIGHBORS
      && update->type != DISCO_RELOAD_CHORD_UPDATE_FULL)
    return;
  collect (t, update->predecessors, candidates);
  collect (t, update->successors, candidates);
  if (update->type == DISCO_RELOAD_CHORD_UPDATE_FULL)
    collect (t, update->fingers, candidates);
}

void
disco_chord_table_fill_update (DiscoChordTable *t, guint32 uptime, DiscoReloadChordUpdate *u)
{
  const DiscoReloadNodeId *succ;
  guint n_succ = disco_chord_table_get_successors (t, &succ);

  u->uptime = uptime;
  u->type = DISCO_RELOAD_CHORD_UPDATE_FULL;
  u->predecessors = g_array_new (FALSE, FALSE, sizeof (DiscoReloadNodeId));
  u->successors = g_array_new (FALSE, FALSE, sizeof (DiscoReloadNodeId));
  u->fingers = g_array_new (FALSE, FALSE, sizeof (DiscoReloadNodeId));
  g_array_append_vals (u->predecessors, t->preds, t->n_preds);
  g_array_append_vals (u->successors, succ, n_succ);
  const DiscoReloadNodeId *prev = NULL;
  for (guint i = 0; i < DISCO_CHORD_FINGERS; i++)
    {
      const DiscoReloadNodeId *f = disco_chord_table_get_finger (t, i);
      if (f && (!prev || !disco_reload_node_id_equal (f, prev)))
        g_array_append_val (u->fingers, *f);
      prev = f;
    }
}

static json_object *
id_array (const DiscoReloadNodeId *ids, guint n)
{
  json_object *a = json_object_new_array ();
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *hex = disco_reload_node_id_to_hex (&ids[i]);
      json_object_array_add (a, json_object_new_string (hex));
    }
  return a;
}

json_object *
disco_chord_table_to_json (DiscoChordTable *t)
{
  json_object *o = json_object_new_object ();
  const DiscoReloadNodeId *succ;
  guint n_succ = disco_chord_table_get_successors (t, &succ);
  g_autofree char *self = disco_reload_node_id_to_hex (&t->self);
  DiscoReloadChordUpdate u = { 0 };

  disco_chord_table_fill_update (t, 0, &u);
  json_object_object_add (o, "node_id", json_object_new_string (self));
  json_object_object_add (o, "predecessors", id_array (t->preds, t->n_preds));
  json_object_object_add (o, "successors", id_array (succ, n_succ));
  json_object_object_add (o, "fingers",
                          id_array ((const DiscoReloadNodeId *)u.fingers->data, u.fingers->len));
  json_object_object_add (o, "peers", json_object_new_int ((int)t->peers->len));
  g_array_unref (u.predecessors);
  g_array_unref (u.successors);
  g_array_unref (u.fingers);
  return o;
}
