/* ring-client.c: a RELOAD client process for the Chord ring test that
 * stores or fetches many values in one run, pipelined over one link to
 * one peer (a `disco store` per value would spend the test's time on
 * process start-up and TLS handshakes).
 *
 *   ring-client --peer ADDR:PORT --data-dir DIR --user NAME@DOMAIN
 *               (--store | --fetch WRITER@DOMAIN) --from A --to B [--step S]
 *
 * Resource i is "r<i>-conf-<writer>", a DISCO-REGISTRATION (a ShaRe kind
 * with variable resource names: the writer owns every such name, so one
 * identity can write hundreds of resources).  A fetch counts a resource
 * as found when it holds a value whose signature verifies, whose signer is
 * the writer and whose ResourceNameExtension is the resource's name.
 * Prints one JSON line {"ok": N, "failed": [{"i": I, "error": "..."}],
 * "latency_us": [...]} (with --window 1 the latencies are unloaded ones);
 * exits 0 when nothing failed. */
#include <gio/gio.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "reload-config.h"
#include "reload-node-profile.h"
#include "reload-node.h"
#include "reload-usages.h"

static gint window = 16;

typedef struct
{
  DiscoReloadNode *node;
  DiscoReloadIdentity *identity;
  DiscoReloadConfig *config;
  GMainLoop *loop;
  char *writer; /* whose names: our own user for --store */
  gboolean store;
  gint next, to, step;
  guint in_flight, ok;
  json_object *failed;
  GError *connect_error;
  gboolean connected;
  GArray *latency_us; /* gint64, one per answered request */
} Run;

typedef struct
{
  Run *run;
  gint i;
  DiscoReloadResourceId rid;
  char *name;
  gint64 sent_us;
} Op;

static char *
resource_name (Run *r, gint i)
{
  return g_strdup_printf ("r%d-conf-%s", i, r->writer);
}

static void
op_fail (Op *op, const char *why)
{
  json_object *f = json_object_new_object ();
  json_object_object_add (f, "i", json_object_new_int (op->i));
  json_object_object_add (f, "error", json_object_new_string (why));
  json_object_array_add (op->run->failed, f);
}

static void launch (Run *r);

static void
op_done (Op *op)
{
  Run *r = op->run;
  g_free (op->name);
  g_free (op);
  r->in_flight--;
  launch (r);
  if (r->in_flight == 0 && r->next >= r->to)
    g_main_loop_quit (r->loop);
}

static gboolean
fetched_ok (Op *op, DiscoReloadMessage *ans, GString *why)
{
  Run *r = op->run;
  for (guint k = 0; k < ans->body.fetch_ans.kind_responses->len; k++)
    {
      DiscoReloadFetchKindResponse *kr = ans->body.fetch_ans.kind_responses->pdata[k];
      for (guint v = 0; kr->values && v < kr->values->len; v++)
        {
          DiscoReloadStoredData *sd = kr->values->pdata[v];
          DiscoReloadSigner signer = { 0 };
          g_autoptr (GError) error = NULL;
          if (!sd->value.exists || sd->value.value == NULL)
            continue;
          if (!disco_reload_node_verify_stored_data (r->node, ans, &op->rid, kr->kind, sd, &signer,
                                                     &error))
            {
              g_string_append_printf (why, "signature: %s; ", error->message);
              continue;
            }
          gboolean by_writer = signer.cert && g_strcmp0 (signer.cert->user_name, r->writer) == 0;
          disco_reload_signer_clear (&signer);
          gsize len;
          const guint8 *data = g_bytes_get_data (sd->value.value, &len);
          DiscoReloadDiscoRegistration reg;
          disco_reload_disco_registration_init (&reg);
          gboolean named = disco_reload_disco_registration_decode (data, len, TRUE, &reg, NULL)
                           && g_strcmp0 (reg.resource_name, op->name) == 0;
          disco_reload_disco_registration_clear (&reg);
          if (by_writer && named)
            return TRUE;
          g_string_append (why, by_writer ? "wrong resource name; " : "wrong signer; ");
        }
    }
  if (why->len == 0)
    g_string_append (why, "no value");
  return FALSE;
}

static void
on_answer (GObject *src, GAsyncResult *res, gpointer user_data)
{
  Op *op = user_data;
  Run *r = op->run;
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadMessage) ans = disco_reload_node_request_finish (r->node, res, &error);
  gint64 took = g_get_monotonic_time () - op->sent_us;
  if (ans)
    g_array_append_val (r->latency_us, took);
  if (ans == NULL)
    op_fail (op, error->message);
  else if (ans->message_code == DISCO_RELOAD_ERROR)
    op_fail (op, disco_reload_error_code_name (ans->body.error.error_code));
  else if (r->store)
    r->ok++;
  else
    {
      g_autoptr (GString) why = g_string_new (NULL);
      if (fetched_ok (op, ans, why))
        r->ok++;
      else
        op_fail (op, why->str);
    }
  op_done (op);
}

static DiscoReloadMessage *
make_store (Run *r, Op *op, GError **error)
{
  DiscoReloadDiscoRegistration reg;
  disco_reload_disco_registration_init (&reg);
  reg.resource_name = g_strdup (op->name);
  reg.version = DISCO_RELOAD_DISCO_REGISTRATION_VERSION;
  reg.max_participants = 100;
  GBytes *value = disco_reload_disco_registration_encode (&reg, error);
  disco_reload_disco_registration_clear (&reg);
  if (value == NULL)
    return NULL;
  DiscoReloadStoredData *sd = disco_reload_stored_data_new (DISCO_RELOAD_DATA_MODEL_DICTIONARY);
  sd->storage_time = (guint64)(g_get_real_time () / 1000);
  sd->lifetime = 3600;
  sd->value.exists = TRUE;
  sd->value.value = value;
  sd->value.key = g_bytes_new (disco_reload_identity_get_node_id (r->identity)->id,
                               DISCO_RELOAD_NODE_ID_LENGTH);
  if (!disco_reload_node_sign_stored_data (r->node, &op->rid, DISCO_RELOAD_KIND_DISCO_REGISTRATION,
                                           sd, error))
    {
      disco_reload_stored_data_unref (sd);
      return NULL;
    }
  DiscoReloadDestination d;
  memset (&d, 0, sizeof d);
  disco_reload_destination_set_resource (&d, &op->rid);
  DiscoReloadMessage *req = disco_reload_node_new_request (r->node, DISCO_RELOAD_STORE_REQ, &d);
  req->body.store_req.resource = op->rid;
  DiscoReloadStoreKindData *kd
      = disco_reload_store_kind_data_new (DISCO_RELOAD_KIND_DISCO_REGISTRATION, 0);
  g_ptr_array_add (kd->values, sd);
  g_ptr_array_add (req->body.store_req.kind_data, kd);
  return req;
}

static DiscoReloadMessage *
make_fetch (Run *r, Op *op)
{
  DiscoReloadDestination d;
  memset (&d, 0, sizeof d);
  disco_reload_destination_set_resource (&d, &op->rid);
  DiscoReloadMessage *req = disco_reload_node_new_request (r->node, DISCO_RELOAD_FETCH_REQ, &d);
  req->body.fetch_req.resource = op->rid;
  g_ptr_array_add (req->body.fetch_req.specifiers,
                   disco_reload_stored_data_specifier_new (DISCO_RELOAD_KIND_DISCO_REGISTRATION,
                                                           DISCO_RELOAD_DATA_MODEL_DICTIONARY));
  return req;
}

static void
launch (Run *r)
{
  while (r->in_flight < (guint)window && r->next < r->to)
    {
      Op *op = g_new0 (Op, 1);
      op->run = r;
      op->i = r->next;
      r->next += r->step;
      op->name = resource_name (r, op->i);
      disco_reload_resource_id_from_name ((const guint8 *)op->name, strlen (op->name), &op->rid);
      g_autoptr (GError) error = NULL;
      DiscoReloadMessage *req = r->store ? make_store (r, op, &error) : make_fetch (r, op);
      r->in_flight++;
      if (req == NULL)
        {
          op_fail (op, error->message);
          op_done (op);
          continue;
        }
      op->sent_us = g_get_monotonic_time ();
      disco_reload_node_request_async (r->node, req, NULL, on_answer, op);
    }
}

static void
on_connected (GObject *src, GAsyncResult *res, gpointer user_data)
{
  Run *r = user_data;
  r->connected = disco_reload_node_connect_finish (r->node, res, NULL, &r->connect_error);
  g_main_loop_quit (r->loop);
}

int
main (int argc, char **argv)
{
  g_autofree char *peer = NULL, *data_dir = NULL, *user = NULL, *fetch = NULL;
  gboolean store = FALSE;
  gint from = 0, to = 0, step = 1;
  GOptionEntry entries[]
      = { { "peer", 0, 0, G_OPTION_ARG_STRING, &peer, "Peer", "ADDR:PORT" },
          { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &data_dir, "Identity", "DIR" },
          { "user", 0, 0, G_OPTION_ARG_STRING, &user, "User for a new identity", "NAME" },
          { "store", 0, 0, G_OPTION_ARG_NONE, &store, "Store our own resources", NULL },
          { "fetch", 0, 0, G_OPTION_ARG_STRING, &fetch, "Fetch this writer's resources", "USER" },
          { "from", 0, 0, G_OPTION_ARG_INT, &from, "First index", "N" },
          { "to", 0, 0, G_OPTION_ARG_INT, &to, "End index (exclusive)", "N" },
          { "step", 0, 0, G_OPTION_ARG_INT, &step, "Index step", "N" },
          { "window", 0, 0, G_OPTION_ARG_INT, &window, "Requests in flight (16)", "N" },
          { NULL } };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- bulk store/fetch for the ring test");
  g_autoptr (GError) error = NULL;
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || peer == NULL || step <= 0
      || window <= 0 || store == (fetch != NULL))
    {
      g_printerr ("ring-client: %s\n", error ? error->message : "bad arguments");
      return 2;
    }
  Run r = { .store = store, .next = from, .to = to, .step = step };
  if (!disco_reload_node_profile_load (data_dir, NULL, user, &r.config, &r.identity, &error))
    {
      g_printerr ("ring-client: %s\n", error->message);
      return 1;
    }
  r.writer = g_strdup (store ? disco_reload_identity_get_user_name (r.identity) : fetch);
  DiscoReloadNodeSettings s = { .identity = r.identity, .config = r.config, .client = TRUE };
  r.node = disco_reload_node_new (&s, &error);
  if (r.node == NULL)
    {
      g_printerr ("ring-client: %s\n", error->message);
      return 1;
    }
  g_autoptr (GSocketAddress) addr = NULL;
  {
    g_autofree char *host = g_strdup (peer);
    char *colon = strrchr (host, ':');
    if (colon == NULL)
      {
        g_printerr ("ring-client: --peer ADDR:PORT\n");
        return 2;
      }
    *colon = '\0';
    addr = g_inet_socket_address_new_from_string (host, (guint)atoi (colon + 1));
  }
  if (addr == NULL)
    {
      g_printerr ("ring-client: bad --peer\n");
      return 2;
    }
  r.loop = g_main_loop_new (NULL, FALSE);
  r.failed = json_object_new_array ();
  r.latency_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  disco_reload_node_connect_async (r.node, addr, DISCO_RELOAD_LINK_TLS, NULL, NULL, on_connected,
                                   &r);
  g_main_loop_run (r.loop);
  int rc = 0;
  if (!r.connected)
    {
      g_printerr ("ring-client: %s\n", r.connect_error->message);
      g_clear_error (&r.connect_error);
      rc = 1;
    }
  else
    {
      launch (&r);
      if (r.in_flight > 0)
        g_main_loop_run (r.loop);
      json_object *o = json_object_new_object ();
      json_object_object_add (o, "ok", json_object_new_int ((int)r.ok));
      json_object_object_add (o, "failed", json_object_get (r.failed));
      /* Answer times in microseconds, for the ring benchmark's percentiles. */
      json_object *lat = json_object_new_array ();
      for (guint k = 0; k < r.latency_us->len; k++)
        json_object_array_add (lat,
                               json_object_new_int64 (g_array_index (r.latency_us, gint64, k)));
      json_object_object_add (o, "latency_us", lat);
      g_print ("%s\n", json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN));
      json_object_put (o);
      rc = json_object_array_length (r.failed) == 0 ? 0 : 1;
    }
  json_object_put (r.failed);
  g_array_unref (r.latency_us);
  disco_reload_node_free (r.node);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_main_loop_unref (r.loop);
  g_free (r.writer);
  disco_reload_identity_unref (r.identity);
  disco_reload_config_unref (r.config);
  return rc;
}
