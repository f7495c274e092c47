/* bench-link.c: RELOAD request round trips per second through one TLS link.
 *
 * A peer and a client node in one process (one core, one main loop) over a
 * loopback TLS link.  Sequential Store (a signed CERTIFICATE_BY_USER value,
 * ~800 bytes), Fetch of that resource, and Ping as the baseline: the same
 * path (framing, TLS, decode, signature verify, answer, sign) with the
 * cheapest possible handler.  Every message is RSA-2048 signed and
 * verified, so the ratios show what storage adds on top of the link.
 *
 *   bench-link [--seconds S]   (default 2 s per measurement) */
#include <stdio.h>
#include <string.h>

#include "reload-node.h"
#include "reload-usages.h"

static double seconds = 2.0;

typedef struct
{
  DiscoReloadNode *client;
  DiscoReloadNode *peer;
  DiscoReloadIdentity *id;
  DiscoReloadResourceId rid;
  guint16 code;
  guint64 done;
  gint64 deadline;
  gboolean finished;
  gboolean connected;
  guint64 last_time;
} Bench;

static void send_one (Bench *b);

static void
on_answer (GObject *src, GAsyncResult *res, gpointer user_data)
{
  Bench *b = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadMessage) ans = disco_reload_node_request_finish (b->client, res, &error);
  if (ans == NULL)
    g_error ("request failed: %s", error->message);
  b->done++;
  if (g_get_monotonic_time () >= b->deadline)
    {
      b->finished = TRUE;
      return;
    }
  send_one (b);
}

static void
send_one (Bench *b)
{
  DiscoReloadDestination d;
  memset (&d, 0, sizeof d);
  disco_reload_destination_set_resource (&d, &b->rid);
  DiscoReloadMessage *req = disco_reload_node_new_request (b->client, b->code, &d);
  if (b->code == DISCO_RELOAD_STORE_REQ)
    {
      g_autoptr (GError) error = NULL;
      /* Each overwrite must be newer than the last (RFC 6940 §7.4.1). */
      b->last_time = MAX ((guint64)(g_get_real_time () / 1000), b->last_time + 1);
      DiscoReloadStoredData *sd = disco_reload_certificate_value_new (
          b->id, DISCO_RELOAD_KIND_CERTIFICATE_BY_USER, &b->rid, b->last_time, 600, &error);
      if (sd == NULL)
        g_error ("%s", error->message);
      /* Overwrite index 0 so the stored set stays one value; array
       * signatures cover index 0 anyway (§7.4.2.2), so it stays valid. */
      sd->value.index = 0;
      req->body.store_req.resource = b->rid;
      DiscoReloadStoreKindData *kd
          = disco_reload_store_kind_data_new (DISCO_RELOAD_KIND_CERTIFICATE_BY_USER, 0);
      g_ptr_array_add (kd->values, sd);
      g_ptr_array_add (req->body.store_req.kind_data, kd);
    }
  else if (b->code == DISCO_RELOAD_FETCH_REQ)
    {
      req->body.fetch_req.resource = b->rid;
      DiscoReloadStoredDataSpecifier *spec = disco_reload_stored_data_specifier_new (
          DISCO_RELOAD_KIND_CERTIFICATE_BY_USER, DISCO_RELOAD_DATA_MODEL_ARRAY);
      DiscoReloadArrayRange all = { 0, DISCO_RELOAD_ARRAY_LAST };
      g_array_append_val (spec->indices, all);
      g_ptr_array_add (req->body.fetch_req.specifiers, spec);
    }
  disco_reload_node_request_async (b->client, req, NULL, on_answer, b);
}

static double
measure (Bench *b, guint16 code)
{
  b->code = code;
  b->done = 0;
  b->finished = FALSE;
  gint64 start = g_get_monotonic_time ();
  b->deadline = start + (gint64)(seconds * G_USEC_PER_SEC);
  send_one (b);
  while (!b->finished)
    g_main_context_iteration (NULL, TRUE);
  double elapsed = (g_get_monotonic_time () - start) / (double)G_USEC_PER_SEC;
  return b->done / elapsed;
}

static void
on_connected (GObject *src, GAsyncResult *res, gpointer user_data)
{
  Bench *b = user_data;
  g_autoptr (GError) error = NULL;
  if (!disco_reload_node_connect_finish (b->client, res, NULL, &error))
    g_error ("connect: %s", error->message);
  b->connected = TRUE;
}

int
main (int argc, char **argv)
{
  GOptionEntry entries[]
      = { { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "Seconds per measurement", "S" },
          { NULL } };
  g_autoptr (GOptionContext) octx = g_option_context_new ("- RELOAD link round trips");
  g_option_context_add_main_entries (octx, entries, NULL);
  if (!g_option_context_parse (octx, &argc, &argv, NULL))
    return 2;

  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadConfig) config = disco_reload_config_new_default ();
  g_autoptr (DiscoReloadIdentity) pid
      = disco_reload_identity_new_self_signed ("peer@disco.example.org", config->instance_name,
                                               config->self_signed_digest, 1, 2048, 0, &error);
  g_autoptr (DiscoReloadIdentity) cid
      = disco_reload_identity_new_self_signed ("client@disco.example.org", config->instance_name,
                                               config->self_signed_digest, 1, 2048, 0, &error);
  if (pid == NULL || cid == NULL)
    g_error ("identity: %s", error->message);

  DiscoReloadNodeSettings ps = { .identity = pid, .config = config };
  DiscoReloadNodeSettings cs = { .identity = cid, .config = config, .client = TRUE };
  Bench b = { 0 };
  b.peer = disco_reload_node_new (&ps, &error);
  b.client = disco_reload_node_new (&cs, &error);
  b.id = cid;
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  if (!disco_reload_node_listen (b.peer, G_INET_SOCKET_ADDRESS (any), DISCO_RELOAD_LINK_TLS,
                                 &error))
    g_error ("listen: %s", error->message);
  disco_reload_node_connect_async (b.client,
                                   G_SOCKET_ADDRESS (disco_reload_node_get_listen_address (b.peer)),
                                   DISCO_RELOAD_LINK_TLS, NULL, NULL, on_connected, &b);
  while (!b.connected)
    g_main_context_iteration (NULL, TRUE);
  disco_reload_certificate_resource_by_user ("client@disco.example.org", &b.rid);

  double ping = measure (&b, DISCO_RELOAD_PING_REQ);
  double store = measure (&b, DISCO_RELOAD_STORE_REQ);
  double fetch = measure (&b, DISCO_RELOAD_FETCH_REQ);

  printf (
      "RELOAD round trips through one TLS link (one process, sequential, RSA-2048 signatures)\n");
  printf ("  %-8s %9.1f /s  (baseline)\n", "Ping", ping);
  printf ("  %-8s %9.1f /s  %.2fx of Ping\n", "Store", store, store / ping);
  printf ("  %-8s %9.1f /s  %.2fx of Ping\n", "Fetch", fetch, fetch / ping);

  disco_reload_node_free (b.client);
  disco_reload_node_free (b.peer);
  return 0;
}
