/* ring-test-util.c: status-file checks for rings of `disco peer --chord`. */
#include "ring-test-util.h"

#include <signal.h>
#include <string.h>

char **
disco_ring_test_peer_argv (const DiscoRingTestPeerArgs *a)
{
  GStrvBuilder *b = g_strv_builder_new ();
  const char *fixed[]
      = { a->disco,     "peer", "--chord", "--stabilize-ms", a->stabilize_ms, "--listen", a->listen,
          "--data-dir", a->dir, "--user",  a->user,          "--status-file", a->status,  NULL };
  g_strv_builder_addv (b, fixed);
  if (a->keylog)
    {
      g_strv_builder_add (b, "--keylog");
      g_strv_builder_add (b, a->keylog);
    }
  if (a->bootstrap)
    {
      g_strv_builder_add (b, "--bootstrap");
      g_strv_builder_add (b, a->bootstrap);
    }
  char **argv = g_strv_builder_end (b);
  g_strv_builder_unref (b);
  return argv;
}

int
disco_ring_test_cmp_str (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

json_object *
disco_ring_test_read_status (const char *path)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  return json_tokener_parse (text);
}

GPtrArray *
disco_ring_test_sorted_ids (const DiscoRingTestMember *members, guint n)
{
  GPtrArray *ids = g_ptr_array_new ();
  for (guint i = 0; i < n; i++)
    if (members[i].node_id)
      g_ptr_array_add (ids, (gpointer)members[i].node_id);
  g_ptr_array_sort (ids, disco_ring_test_cmp_str);
  return ids;
}

/* TRUE when the JSON array @key of @chord is exactly @want. */
static gboolean
ids_match (json_object *chord, const char *key, GPtrArray *want, GString *why)
{
  json_object *a = NULL;
  gboolean ok = json_object_object_get_ex (chord, key, &a)
                && json_object_is_type (a, json_type_array)
                && json_object_array_length (a) == want->len;
  for (guint i = 0; ok && i < want->len; i++)
    ok = g_strcmp0 (json_object_get_string (json_object_array_get_idx (a, i)), want->pdata[i]) == 0;
  if (!ok && why)
    {
      g_string_append_printf (why, " %s %s (want", key,
                              a ? json_object_to_json_string (a) : "none");
      for (guint i = 0; i < want->len; i++)
        g_string_append_printf (why, " %s", (char *)want->pdata[i]);
      g_string_append (why, ")");
    }
  return ok;
}

static gboolean
member_converged (const DiscoRingTestMember *m, GPtrArray *ids, GString *why)
{
  guint n = ids->len, k_max = MIN (3, n - 1);
  json_object *st = disco_ring_test_read_status (m->status);
  json_object *chord = NULL, *joined = NULL;
  if (st == NULL || !json_object_object_get_ex (st, "chord", &chord)
      || !json_object_object_get_ex (chord, "joined", &joined) || !json_object_get_boolean (joined))
    {
      if (why)
        g_string_append_printf (why, "%s: not joined yet", m->name);
      json_object_put (st);
      return FALSE;
    }
  guint k = 0;
  while (strcmp (ids->pdata[k], m->node_id) != 0)
    k++;
  g_autoptr (GPtrArray) succ = g_ptr_array_new (), pred = g_ptr_array_new ();
  for (guint j = 1; j <= k_max; j++)
    {
      g_ptr_array_add (succ, ids->pdata[(k + j) % n]);
      g_ptr_array_add (pred, ids->pdata[(k + n - j) % n]);
    }
  g_autoptr (GString) w = g_string_new (NULL);
  gboolean ok = ids_match (chord, "successors", succ, w);
  ok = ids_match (chord, "predecessors", pred, w) && ok;
  json_object_put (st);
  if (!ok && why)
    g_string_append_printf (why, "%s (%s):%s", m->name, m->node_id, w->str);
  return ok;
}

gint
disco_ring_test_converged (const DiscoRingTestMember *members, guint n, GString *why)
{
  g_autoptr (GPtrArray) ids = disco_ring_test_sorted_ids (members, n);
  for (guint i = 0; i < n; i++)
    if (members[i].node_id && !member_converged (&members[i], ids, why))
      return (gint)i;
  return -1;
}

void
disco_ring_test_kill_all (const volatile pid_t *pids, guint n)
{
  for (guint i = 0; i < n; i++)
    if (pids[i] > 0)
      kill (pids[i], SIGKILL);
}
