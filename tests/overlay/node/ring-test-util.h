/* ring-test-util.h: checks shared by the tests and the benchmark that run
 * rings of real `disco peer --chord` processes: reading a peer's
 * --status-file JSON and deciding whether the ring has converged.  Needs
 * only GLib and json-c, so bench/ can link it too. */
#pragma once

#include <glib.h>
#include <json-c/json.h>
#include <sys/types.h>

G_BEGIN_DECLS

/* One peer of a ring as the checks see it; the strings are borrowed. */
typedef struct
{
  const char *node_id; /* hex; NULL for a peer that is not running (skipped) */
  const char *status;  /* path of its --status-file */
  const char *name;    /* for messages (its user name) */
} DiscoRingTestMember;

/* What differs between the ring peers' command lines. */
typedef struct
{
  const char *disco;        /* the disco program */
  const char *stabilize_ms; /* --stabilize-ms */
  const char *listen;       /* --listen address:port */
  const char *dir;          /* --data-dir */
  const char *user;         /* --user */
  const char *status;       /* --status-file */
  const char *keylog;       /* --keylog, or NULL */
  const char *bootstrap;    /* --bootstrap address:port, or NULL for the first peer */
} DiscoRingTestPeerArgs;

/* The NULL-terminated argv of `disco peer --chord` for @args; free with
 * g_strfreev. */
char **disco_ring_test_peer_argv (const DiscoRingTestPeerArgs *args);

/* strcmp on two `char *` elements (for g_ptr_array_sort). */
int disco_ring_test_cmp_str (gconstpointer a, gconstpointer b);

/* The parsed status file (caller puts it), or NULL while there is none. */
json_object *disco_ring_test_read_status (const char *path);

/* The running members' Node-IDs, sorted: ring order.  The array borrows
 * the strings. */
GPtrArray *disco_ring_test_sorted_ids (const DiscoRingTestMember *members, guint n);

/* -1 when every running member has joined and its successor and
 * predecessor lists (up to 3 each) are its neighbours in the sorted
 * Node-ID list; otherwise the index of the first member that is not, and
 * why appended to @why (may be NULL). */
gint disco_ring_test_converged (const DiscoRingTestMember *members, guint n, GString *why);

/* SIGKILL to every pid > 0 of @pids; async-signal-safe, for abort
 * handlers that must not leave a ring running. */
void disco_ring_test_kill_all (const volatile pid_t *pids, guint n);

G_END_DECLS
