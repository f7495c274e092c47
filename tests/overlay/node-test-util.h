/* node-test-util.h: helpers shared by the in-process overlay tests (link,
 * node, chord routing): a main-loop spin with a safety timeout, throwaway
 * identities, loopback addresses, and connect / request round trips. */
#pragma once

#include <gio/gio.h>

#include "reload-node.h"

G_BEGIN_DECLS

/* The safety timeout of disco_node_test_spin_until (default 30 s); a
 * test's main() sets its own. */
void disco_node_test_set_timeout (guint seconds);

/* Iterates the default main context until @done(@data); g_error() when
 * the safety timeout passes first. */
void disco_node_test_spin_until (gboolean (*done) (gpointer), gpointer data);

/* A self-signed identity for @user in the default overlay (2048-bit RSA);
 * transfer full. */
DiscoReloadIdentity *disco_node_test_make_identity (const char *user);

/* 127.0.0.1, port 0; transfer full. */
GInetSocketAddress *disco_node_test_loopback_any (void);

/* The outcome of one async call, filled by the callbacks below. */
typedef struct
{
  gboolean done;
  gboolean ok;
  DiscoReloadMessage *answer;
  GError *error;
  DiscoReloadNodeId peer;
} DiscoNodeTestResult;

gboolean disco_node_test_result_done (gpointer result);
/* GAsyncReadyCallbacks for disco_reload_node_connect_async and for the
 * request / ping / fetch calls; user_data is a DiscoNodeTestResult. */
void disco_node_test_on_connected (GObject *src, GAsyncResult *res, gpointer user_data);
void disco_node_test_on_answer (GObject *src, GAsyncResult *res, gpointer user_data);

/* Links @from to @to's listen address over TLS and waits; asserts
 * success, and with @check_id, that the far end proved @to's Node-ID. */
void disco_node_test_connect (DiscoReloadNode *from, DiscoReloadNode *to, gboolean check_id);

/* Sends @req (taken) and waits for the answer; transfer full, or NULL
 * and @error. */
DiscoReloadMessage *disco_node_test_request (DiscoReloadNode *node, DiscoReloadMessage *req,
                                             GError **error);

/* Appends one text2pcap -D packet: direction line ('I' or 'O'), then
 * offset + hex lines. */
void disco_node_test_append_chunk (GString *dump, char dir, const guint8 *data, gsize len);

G_END_DECLS
