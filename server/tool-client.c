/* tool-client.c: `disco store|fetch|stat|ping`: one RELOAD client request
 * through an admitting peer, printed for people or as JSON (--json). */
#define G_LOG_DOMAIN "disco-tool"

#include <gio/gio.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "disco-tool.h"
#include "reload-node-profile.h"
#include "reload-node.h"
#include "reload-storage.h"
#include "reload-usages.h"

GInetSocketAddress *
disco_tool_parse_address (const char *text, GError **error)
{
  const char *colon = text ? strrchr (text, ':') : NULL;
  if (colon == NULL || colon == text)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "'%s' is not ADDR:PORT (a numeric address)", text ? text : "");
      return NULL;
    }
  g_autofree char *host = g_strndup (text, colon - text);
  if (host[0] == '[' && host[strlen (host) - 1] == ']')
    {
      char *inner = g_strndup (host + 1, strlen (host) - 2);
      g_free (host);
      host = inner;
    }
  char *end = NULL;
  guint64 port = g_ascii_strtoull (colon + 1, &end, 10);
  g_autoptr (GInetAddress) ip = g_inet_address_new_from_string (host);
  if (ip == NULL || end == colon + 1 || *end != '\0' || port > 65535)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "'%s' is not ADDR:PORT (a numeric address)", text);
      return NULL;
    }
  return G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (ip, (guint16)port));
}

/* ---- shared client plumbing ----------------------------------------------- */

typedef struct
{
  const char *cmd;
  char *peer;
  char *peer_node_id;
  char *data_dir;
  char *config_path;
  char *user;
  char *to;
  char *resource;
  char *kind;
  char *key;
  gint64 index;
  char *value;
  char *value_hex;
  char *value_file;
  gint lifetime;
  gboolean json;
  gboolean plaintext;
  gint timeout;
  guint timer;

  DiscoReloadConfig *config;
  DiscoReloadIdentity *identity;
  DiscoReloadNode *node;
  GMainLoop *loop;
  gboolean done;
  DiscoReloadMessage *answer;
  GError *error;
} Client;

static void
client_clear (Client *c)
{
  if (c->timer)
    g_source_remove (c->timer);
  g_clear_pointer (&c->node, disco_reload_node_free);
  g_clear_pointer (&c->config, disco_reload_config_unref);
  g_clear_pointer (&c->identity, disco_reload_identity_unref);
  g_clear_pointer (&c->loop, g_main_loop_unref);
  g_clear_pointer (&c->answer, disco_reload_message_free);
  g_clear_error (&c->error);
  g_free (c->peer);
  g_free (c->peer_node_id);
  g_free (c->data_dir);
  g_free (c->config_path);
  g_free (c->user);
  g_free (c->to);
  g_free (c->resource);
  g_free (c->kind);
  g_free (c->key);
  g_free (c->value);
  g_free (c->value_hex);
  g_free (c->value_file);
}

static GOptionEntry *
common_entries (Client *c, GOptionEntry *extra, gsize n_extra)
{
  GOptionEntry common[] = {
    { "peer", 'p', 0, G_OPTION_ARG_STRING, &c->peer, "Admitting peer (required)", "ADDR:PORT" },
    { "peer-node-id", 0, 0, G_OPTION_ARG_STRING, &c->peer_node_id,
      "Node-ID the peer's certificate must carry", "HEX" },
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &c->data_dir, "Identity and overlay.xml", "DIR" },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &c->config_path, "Overlay configuration document",
      "FILE" },
    { "user", 'u', 0, G_OPTION_ARG_STRING, &c->user, "User name for a new self-signed identity",
      "NAME" },
    { "to", 0, 0, G_OPTION_ARG_STRING, &c->to, "Send to this Node-ID instead of the resource",
      "HEX" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &c->json, "Print JSON", NULL },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &c->timeout, "Give up after this many seconds", "S" },
    { "plaintext-test-links", 0, 0, G_OPTION_ARG_NONE, &c->plaintext,
      "TEST ONLY: link without TLS (the overlay configuration must enable it too)", NULL },
  };
  gsize n = G_N_ELEMENTS (common);
  GOptionEntry *all = g_new0 (GOptionEntry, n + n_extra + 1);
  memcpy (all, common, sizeof common);
  if (n_extra)
    memcpy (all + n, extra, n_extra * sizeof *extra);
  return all;
}

/* "index 3: " / "key 0a0b: " / "" (SINGLE) before a value in human output. */
static char *
value_position (DiscoReloadDataModel model, guint32 index, GBytes *key)
{
  if (model == DISCO_RELOAD_DATA_MODEL_ARRAY)
    return g_strdup_printf ("index %u: ", index);
  if (model == DISCO_RELOAD_DATA_MODEL_DICTIONARY)
    {
      gsize n = 0;
      const guint8 *k = key ? g_bytes_get_data (key, &n) : NULL;
      GString *s = g_string_new ("key ");
      for (gsize i = 0; i < n; i++)
        g_string_append_printf (s, "%02x", k[i]);
      g_string_append (s, ": ");
      return g_string_free (s, FALSE);
    }
  return g_strdup ("");
}

static int
fail (Client *c, guint16 code, const char *message)
{
  if (c->json)
    {
      json_object *o = json_object_new_object ();
      json_object *e = json_object_new_object ();
      json_object_object_add (o, "ok", json_object_new_boolean (FALSE));
      json_object_object_add (e, "code", json_object_new_int (code));
      json_object_object_add (e, "name",
                              json_object_new_string (code && code < 0x100
                                                          ? disco_reload_error_code_name (code)
                                                          : "local"));
      json_object_object_add (e, "message", json_object_new_string (message));
      json_object_object_add (o, "error", e);
      g_print ("%s\n", json_object_to_json_string_ext (o, JSON_C_TO_STRING_PRETTY));
      json_object_put (o);
    }
  if (code && code < 0x100)
    g_printerr ("disco %s: %s: %s\n", c->cmd, disco_reload_error_code_name (code), message);
  else
    g_printerr ("disco %s: %s\n", c->cmd, message);
  return 1;
}

static int
fail_error (Client *c, const GError *error)
{
  guint16 code = 0;
  if (error->domain == DISCO_RELOAD_NODE_ERROR && error->code < 0x100)
    code = (guint16)error->code;
  return fail (c, code, error->message);
}

static gboolean
on_overall_timeout (gpointer user_data)
{
  Client *c = user_data;
  c->timer = 0;
  if (!c->done)
    {
      c->done = TRUE;
      g_set_error (&c->error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no answer within %d s",
                   c->timeout);
      g_main_loop_quit (c->loop);
    }
  return G_SOURCE_REMOVE;
}

static void
on_connected (GObject *src, GAsyncResult *res, gpointer user_data)
{
  Client *c = user_data;
  if (c->done)
    return;
  if (!disco_reload_node_connect_finish (c->node, res, NULL, &c->error))
    c->done = TRUE;
  g_main_loop_quit (c->loop);
}

static void
on_answer (GObject *src, GAsyncResult *res, gpointer user_data)
{
  Client *c = user_data;
  DiscoReloadMessage *ans
      = disco_reload_node_request_finish (c->node, res, c->done ? NULL : &c->error);
  if (c->done)
    {
      if (ans)
        disco_reload_message_free (ans);
      return;
    }
  c->answer = ans;
  c->done = TRUE;
  g_main_loop_quit (c->loop);
}

/* Parses common options, loads the profile, connects.  Returns -1 when
 * ready, else the exit code. */
static int
client_start (Client *c, int argc, char **argv, const char *summary, GOptionEntry *extra,
              gsize n_extra)
{
  g_autoptr (GError) error = NULL;
  g_autofree GOptionEntry *entries = common_entries (c, extra, n_extra);
  g_autoptr (GOptionContext) ctx = g_option_context_new (summary);
  c->timeout = 30;
  c->lifetime = 3600;
  c->index = -1;
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("disco %s: %s\n", c->cmd, error->message);
      return DISCO_TOOL_EXIT_USAGE;
    }
  if (c->peer == NULL)
    {
      g_printerr ("disco %s: --peer ADDR:PORT is required\n", c->cmd);
      return DISCO_TOOL_EXIT_USAGE;
    }
  g_autoptr (GInetSocketAddress) addr = disco_tool_parse_address (c->peer, &error);
  if (addr == NULL)
    {
      g_printerr ("disco %s: --peer: %s\n", c->cmd, error->message);
      return DISCO_TOOL_EXIT_USAGE;
    }
  DiscoReloadNodeId expected;
  if (c->peer_node_id && !disco_reload_node_id_from_hex (c->peer_node_id, &expected))
    {
      g_printerr ("disco %s: --peer-node-id: not a Node-ID\n", c->cmd);
      return DISCO_TOOL_EXIT_USAGE;
    }
  if (c->to)
    {
      DiscoReloadNodeId tmp;
      if (!disco_reload_node_id_from_hex (c->to, &tmp))
        {
          g_printerr ("disco %s: --to: not a Node-ID\n", c->cmd);
          return DISCO_TOOL_EXIT_USAGE;
        }
    }
  if (!disco_reload_node_profile_load (c->data_dir, c->config_path, c->user, &c->config,
                                       &c->identity, &error))
    return fail (c, 0, error->message);
  DiscoReloadNodeSettings s = {
    .identity = c->identity,
    .config = c->config,
    .client = TRUE,
    .allow_plaintext = c->plaintext,
  };
  c->node = disco_reload_node_new (&s, &error);
  if (c->node == NULL)
    return fail (c, 0, error->message);
  c->loop = g_main_loop_new (NULL, FALSE);
  c->timer = g_timeout_add_seconds (MAX (c->timeout, 1), on_overall_timeout, c);
  disco_reload_node_connect_async (c->node, G_SOCKET_ADDRESS (addr),
                                   c->plaintext ? DISCO_RELOAD_LINK_PLAINTEXT
                                                : DISCO_RELOAD_LINK_TLS,
                                   c->peer_node_id ? &expected : NULL, NULL, on_connected, c);
  g_main_loop_run (c->loop);
  if (c->error)
    return fail_error (c, c->error);
  return -1;
}

static DiscoReloadMessage *
client_request (Client *c, DiscoReloadMessage *req)
{
  disco_reload_node_request_async (c->node, req, NULL, on_answer, c);
  if (!c->done)
    g_main_loop_run (c->loop);
  return c->answer;
}

static DiscoReloadDestination
client_destination (Client *c, const DiscoReloadResourceId *rid)
{
  DiscoReloadDestination d;
  memset (&d, 0, sizeof d);
  DiscoReloadNodeId id;
  if (c->to && disco_reload_node_id_from_hex (c->to, &id))
    disco_reload_destination_set_node (&d, &id);
  else
    disco_reload_destination_set_resource (&d, rid);
  return d;
}

static gboolean
parse_kind (Client *c, DiscoReloadKindId *kind, GError **error)
{
  if (c->kind == NULL)
    {
      *kind = DISCO_RELOAD_KIND_CERTIFICATE_BY_USER;
      return TRUE;
    }
  char *end = NULL;
  guint64 v = g_ascii_strtoull (c->kind, &end, 0);
  if (end != c->kind && *end == '\0' && v <= G_MAXUINT32)
    *kind = (DiscoReloadKindId)v;
  else
    *kind = disco_reload_kind_id_from_name (c->kind);
  if (*kind == 0 || disco_reload_config_find_kind (c->config, *kind) == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "kind '%s' is not defined in overlay %s", c->kind, c->config->instance_name);
      return FALSE;
    }
  return TRUE;
}

/* --resource NAME, else where the kind's policy lets this node write. */
static void
client_resource (Client *c, DiscoReloadKindId kind, DiscoReloadResourceId *rid)
{
  if (c->resource)
    disco_reload_resource_id_from_name ((const guint8 *)c->resource, strlen (c->resource), rid);
  else if (kind == DISCO_RELOAD_KIND_CERTIFICATE_BY_NODE)
    disco_reload_certificate_resource_by_node (disco_reload_identity_get_node_id (c->identity),
                                               rid);
  else
    disco_reload_certificate_resource_by_user (disco_reload_identity_get_user_name (c->identity),
                                               rid);
}

static char *
hex_of (const guint8 *data, gsize len)
{
  GString *s = g_string_sized_new (len * 2 + 1);
  for (gsize i = 0; i < len; i++)
    g_string_append_printf (s, "%02x", data[i]);
  return g_string_free (s, FALSE);
}

static char *
hex_of_bytes (GBytes *b)
{
  gsize len = 0;
  const guint8 *d = b ? g_bytes_get_data (b, &len) : NULL;
  return hex_of (d, len);
}

static GBytes *
bytes_from_hex (const char *hex, GError **error)
{
  gsize n = strlen (hex);
  if (n % 2)
    goto bad;
  GByteArray *a = g_byte_array_sized_new (n / 2);
  for (gsize i = 0; i < n; i += 2)
    {
      int hi = g_ascii_xdigit_value (hex[i]), lo = g_ascii_xdigit_value (hex[i + 1]);
      if (hi < 0 || lo < 0)
        {
          g_byte_array_unref (a);
          goto bad;
        }
      guint8 v = (guint8)(hi << 4 | lo);
      g_byte_array_append (a, &v, 1);
    }
  return g_byte_array_free_to_bytes (a);
bad:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "'%s' is not hex", hex);
  return NULL;
}

/* Text when the value is printable UTF-8, else NULL. */
static char *
printable (GBytes *b)
{
  gsize len = 0;
  const char *d = b ? g_bytes_get_data (b, &len) : NULL;
  if (d == NULL || !g_utf8_validate (d, (gssize)len, NULL))
    return NULL;
  for (gsize i = 0; i < len; i++)
    if ((guchar)d[i] < 0x20 && d[i] != '\n' && d[i] != '\t')
      return NULL;
  return g_strndup (d, len);
}

static json_object *
json_result (Client *c, const DiscoReloadResourceId *rid, DiscoReloadKindId kind)
{
  json_object *o = json_object_new_object ();
  g_autofree char *rhex = hex_of (rid->id, rid->len);
  json_object_object_add (o, "ok", json_object_new_boolean (TRUE));
  json_object_object_add (o, "resource_id", json_object_new_string (rhex));
  if (c->resource)
    json_object_object_add (o, "resource", json_object_new_string (c->resource));
  json_object_object_add (o, "kind", json_object_new_int64 (kind));
  return o;
}

static void
print_json (json_object *o)
{
  g_print ("%s\n", json_object_to_json_string_ext (o, JSON_C_TO_STRING_PRETTY));
  json_object_put (o);
}

static int
answer_or_fail (Client *c, DiscoReloadMessage *ans)
{
  if (ans == NULL)
    return fail_error (c, c->error);
  return -1;
}

/* ---- store ---------------------------------------------------------------- */

int
disco_tool_cmd_store (int argc, char **argv)
{
  Client c = { .cmd = "store" };
  GOptionEntry extra[] = {
    { "resource", 'r', 0, G_OPTION_ARG_STRING, &c.resource,
      "Resource name (default: your user name)", "NAME" },
    { "kind", 'k', 0, G_OPTION_ARG_STRING, &c.kind, "Kind-ID or name (default CERTIFICATE_BY_USER)",
      "KIND" },
    { "key", 0, 0, G_OPTION_ARG_STRING, &c.key, "Dictionary key (default: your Node-ID)", "HEX" },
    { "index", 0, 0, G_OPTION_ARG_INT64, &c.index, "Array index (default: append)", "N" },
    { "value", 0, 0, G_OPTION_ARG_STRING, &c.value, "Value as text", "TEXT" },
    { "value-hex", 0, 0, G_OPTION_ARG_STRING, &c.value_hex, "Value as hex", "HEX" },
    { "value-file", 0, 0, G_OPTION_ARG_FILENAME, &c.value_file, "Value from a file", "FILE" },
    { "lifetime", 0, 0, G_OPTION_ARG_INT, &c.lifetime, "Lifetime in seconds (default 3600)", "S" },
  };
  int rc = client_start (&c, argc, argv, "- store a value in the overlay", extra,
                         G_N_ELEMENTS (extra));
  if (rc >= 0)
    {
      client_clear (&c);
      return rc;
    }
  g_autoptr (GError) error = NULL;
  DiscoReloadKindId kind;
  if (!parse_kind (&c, &kind, &error))
    {
      rc = fail (&c, 0, error->message);
      client_clear (&c);
      return rc;
    }
  DiscoReloadResourceId rid;
  client_resource (&c, kind, &rid);
  DiscoReloadDataModel model = disco_reload_config_kind_model (kind, c.config);

  g_autoptr (GBytes) value = NULL;
  if (c.value)
    value = g_bytes_new (c.value, strlen (c.value));
  else if (c.value_hex)
    value = bytes_from_hex (c.value_hex, &error);
  else if (c.value_file)
    {
      char *data;
      gsize len;
      if (g_file_get_contents (c.value_file, &data, &len, &error))
        value = g_bytes_new_take (data, len);
    }
  else if (kind == DISCO_RELOAD_KIND_CERTIFICATE_BY_USER
           || kind == DISCO_RELOAD_KIND_CERTIFICATE_BY_NODE)
    value = g_bytes_ref (c.identity->cert->der); /* RFC 6940 §8: publish our certificate */
  else
    g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                 "give the value with --value, --value-hex or --value-file");
  if (value == NULL)
    {
      rc = fail (&c, 0, error->message);
      client_clear (&c);
      return rc;
    }

  DiscoReloadStoredData *sd = disco_reload_stored_data_new (model);
  sd->storage_time = (guint64)(g_get_real_time () / 1000);
  sd->lifetime = (guint32)MAX (c.lifetime, 0);
  sd->value.exists = TRUE;
  sd->value.value = g_bytes_ref (value);
  if (model == DISCO_RELOAD_DATA_MODEL_ARRAY)
    sd->value.index = c.index >= 0 ? (guint32)c.index : DISCO_RELOAD_ARRAY_APPEND;
  else if (model == DISCO_RELOAD_DATA_MODEL_DICTIONARY)
    sd->value.key = c.key ? bytes_from_hex (c.key, &error)
                          : g_bytes_new (disco_reload_identity_get_node_id (c.identity)->id,
                                         DISCO_RELOAD_NODE_ID_LENGTH);
  if ((model == DISCO_RELOAD_DATA_MODEL_DICTIONARY && sd->value.key == NULL)
      || !disco_reload_node_sign_stored_data (c.node, &rid, kind, sd, &error))
    {
      disco_reload_stored_data_unref (sd);
      rc = fail (&c, 0, error->message);
      client_clear (&c);
      return rc;
    }

  DiscoReloadDestination d = client_destination (&c, &rid);
  DiscoReloadMessage *req = disco_reload_node_new_request (c.node, DISCO_RELOAD_STORE_REQ, &d);
  req->body.store_req.resource = rid;
  DiscoReloadStoreKindData *kd = disco_reload_store_kind_data_new (kind, 0);
  g_ptr_array_add (kd->values, sd);
  g_ptr_array_add (req->body.store_req.kind_data, kd);
  DiscoReloadMessage *ans = client_request (&c, req);
  rc = answer_or_fail (&c, ans);
  if (rc >= 0)
    {
      client_clear (&c);
      return rc;
    }

  json_object *o = json_result (&c, &rid, kind);
  json_object *kinds = json_object_new_array ();
  for (guint i = 0; i < ans->body.store_ans.kind_responses->len; i++)
    {
      DiscoReloadStoreKindResponse *kr = ans->body.store_ans.kind_responses->pdata[i];
      json_object *k = json_object_new_object ();
      json_object_object_add (k, "kind", json_object_new_int64 (kr->kind));
      json_object_object_add (k, "generation",
                              json_object_new_int64 ((gint64)kr->generation_counter));
      json_object_object_add (k, "replicas",
                              json_object_new_int (kr->replicas ? (int)kr->replicas->len : 0));
      json_object_array_add (kinds, k);
      if (!c.json)
        {
          g_autofree char *rhex = hex_of (rid.id, rid.len);
          g_print ("stored kind %u at %s: generation %" G_GUINT64_FORMAT "\n", kr->kind, rhex,
                   kr->generation_counter);
        }
    }
  json_object_object_add (o, "kinds", kinds);
  if (c.json)
    print_json (o);
  else
    json_object_put (o);
  client_clear (&c);
  return 0;
}

/* ---- fetch / stat ------------------------------------------------------------ */

static DiscoReloadMessage *
fetch_like (Client *c, guint16 code, DiscoReloadKindId kind, DiscoReloadResourceId *rid)
{
  g_autoptr (GError) error = NULL;
  DiscoReloadDataModel model = disco_reload_config_kind_model (kind, c->config);
  DiscoReloadStoredDataSpecifier *spec = disco_reload_stored_data_specifier_new (kind, model);
  if (model == DISCO_RELOAD_DATA_MODEL_ARRAY)
    {
      DiscoReloadArrayRange r = { 0, DISCO_RELOAD_ARRAY_LAST };
      if (c->index >= 0)
        r.first = r.last = (guint32)c->index;
      g_array_append_val (spec->indices, r);
    }
  else if (model == DISCO_RELOAD_DATA_MODEL_DICTIONARY && c->key)
    {
      GBytes *k = bytes_from_hex (c->key, &error);
      if (k)
        g_ptr_array_add (spec->keys, k);
    }
  DiscoReloadDestination d = client_destination (c, rid);
  DiscoReloadMessage *req = disco_reload_node_new_request (c->node, code, &d);
  req->body.fetch_req.resource = *rid;
  g_ptr_array_add (req->body.fetch_req.specifiers, spec);
  return client_request (c, req);
}

static int
fetch_or_stat (int argc, char **argv, const char *cmd)
{
  gboolean is_fetch = g_str_equal (cmd, "fetch");
  Client c = { .cmd = cmd };
  GOptionEntry extra[] = {
    { "resource", 'r', 0, G_OPTION_ARG_STRING, &c.resource,
      "Resource name (default: your user name)", "NAME" },
    { "kind", 'k', 0, G_OPTION_ARG_STRING, &c.kind, "Kind-ID or name (default CERTIFICATE_BY_USER)",
      "KIND" },
    { "key", 0, 0, G_OPTION_ARG_STRING, &c.key, "Only this dictionary key", "HEX" },
    { "index", 0, 0, G_OPTION_ARG_INT64, &c.index, "Only this array index", "N" },
  };
  int rc = client_start (&c, argc, argv,
                         is_fetch ? "- fetch values from the overlay" : "- fetch metadata", extra,
                         G_N_ELEMENTS (extra));
  if (rc >= 0)
    {
      client_clear (&c);
      return rc;
    }
  g_autoptr (GError) error = NULL;
  DiscoReloadKindId kind;
  if (!parse_kind (&c, &kind, &error))
    {
      rc = fail (&c, 0, error->message);
      client_clear (&c);
      return rc;
    }
  DiscoReloadResourceId rid;
  client_resource (&c, kind, &rid);
  DiscoReloadMessage *ans
      = fetch_like (&c, is_fetch ? DISCO_RELOAD_FETCH_REQ : DISCO_RELOAD_STAT_REQ, kind, &rid);
  rc = answer_or_fail (&c, ans);
  if (rc >= 0)
    {
      client_clear (&c);
      return rc;
    }

  json_object *o = json_result (&c, &rid, kind);
  json_object *values = json_object_new_array ();
  guint64 generation = 0;
  guint bad = 0;
  GPtrArray *responses
      = is_fetch ? ans->body.fetch_ans.kind_responses : ans->body.stat_ans.kind_responses;
  for (guint i = 0; i < responses->len; i++)
    {
      GPtrArray *vals;
      if (is_fetch)
        {
          DiscoReloadFetchKindResponse *fr = responses->pdata[i];
          generation = fr->generation;
          vals = fr->values;
        }
      else
        {
          DiscoReloadStatKindResponse *sr = responses->pdata[i];
          generation = sr->generation;
          vals = sr->values;
        }
      for (guint j = 0; j < vals->len; j++)
        {
          json_object *v = json_object_new_object ();
          DiscoReloadDataModel model;
          guint32 index;
          GBytes *key;
          gboolean exists;
          if (is_fetch)
            {
              DiscoReloadStoredData *sd = vals->pdata[j];
              model = sd->value.model;
              index = sd->value.index;
              key = sd->value.key;
              exists = sd->value.exists;
              g_autofree char *vhex = hex_of_bytes (sd->value.value);
              g_autofree char *text = printable (sd->value.value);
              json_object_object_add (v, "value_hex", json_object_new_string (vhex));
              if (text)
                json_object_object_add (v, "value", json_object_new_string (text));
              json_object_object_add (
                  v, "length",
                  json_object_new_int64 (
                      sd->value.value ? (gint64)g_bytes_get_size (sd->value.value) : 0));
              json_object_object_add (v, "storage_time",
                                      json_object_new_int64 ((gint64)sd->storage_time));
              json_object_object_add (v, "lifetime", json_object_new_int64 (sd->lifetime));
              /* RFC 6940 §7.4.2.2: every returned value is verified; synthesised
               * "does not exist" entries carry no signature. */
              DiscoReloadSigner signer = { 0 };
              g_autoptr (GError) verr = NULL;
              gboolean verified = FALSE;
              if (sd->signature.identity.type != DISCO_RELOAD_SIGNER_IDENTITY_NONE)
                verified = disco_reload_node_verify_stored_data (c.node, ans, &rid, kind, sd,
                                                                 &signer, &verr);
              json_object_object_add (v, "verified", json_object_new_boolean (verified));
              if (verified)
                {
                  g_autofree char *nid = disco_reload_node_id_to_hex (&signer.node_id);
                  json_object_object_add (v, "signer_node_id", json_object_new_string (nid));
                  if (signer.cert && signer.cert->user_name)
                    json_object_object_add (v, "signer_user",
                                            json_object_new_string (signer.cert->user_name));
                }
              else if (exists)
                bad++;
              if (!c.json)
                {
                  g_autofree char *where = value_position (model, sd->value.index, sd->value.key);
                  g_autofree char *shown
                      = text                 ? g_strdup_printf ("\"%s\"", text)
                        : strlen (vhex) > 64 ? g_strdup_printf ("<%" G_GSIZE_FORMAT " bytes>",
                                                                g_bytes_get_size (sd->value.value))
                                             : g_strdup_printf ("0x%s", vhex);
                  if (!exists)
                    g_print ("  %s(deleted)\n", where);
                  else if (verified)
                    g_print ("  %s%s, signed by %s (verified)\n", where, shown,
                             signer.cert && signer.cert->user_name ? signer.cert->user_name : "?");
                  else
                    g_print ("  %s%s, NOT VERIFIED: %s\n", where, shown,
                             verr ? verr->message : "unsigned");
                }
              disco_reload_signer_clear (&signer);
            }
          else
            {
              DiscoReloadStoredMetaData *md = vals->pdata[j];
              model = md->model;
              index = md->index;
              key = md->key;
              exists = md->exists;
              g_autofree char *hhex = hex_of_bytes (md->hash_value);
              json_object_object_add (v, "value_length", json_object_new_int64 (md->value_length));
              json_object_object_add (v, "hash_algorithm",
                                      json_object_new_int (md->hash_algorithm));
              json_object_object_add (v, "hash", json_object_new_string (hhex));
              json_object_object_add (v, "storage_time",
                                      json_object_new_int64 ((gint64)md->storage_time));
              json_object_object_add (v, "lifetime", json_object_new_int64 (md->lifetime));
              if (!c.json)
                {
                  g_autofree char *where = value_position (model, md->index, md->key);
                  g_print ("  %s%u bytes, sha-256 %s%s\n", where, md->value_length, hhex,
                           exists ? "" : " (deleted)");
                }
            }
          json_object_object_add (v, "exists", json_object_new_boolean (exists));
          if (model == DISCO_RELOAD_DATA_MODEL_ARRAY)
            json_object_object_add (v, "index", json_object_new_int64 (index));
          if (model == DISCO_RELOAD_DATA_MODEL_DICTIONARY)
            {
              g_autofree char *khex = hex_of_bytes (key);
              json_object_object_add (v, "key", json_object_new_string (khex));
            }
          json_object_array_add (values, v);
        }
    }
  json_object_object_add (o, "generation", json_object_new_int64 ((gint64)generation));
  json_object_object_add (o, "values", values);
  if (c.json)
    print_json (o);
  else
    {
      g_print ("%u value(s), generation %" G_GUINT64_FORMAT "\n",
               (guint)json_object_array_length (values), generation);
      json_object_put (o);
    }
  client_clear (&c);
  if (bad)
    {
      g_printerr ("disco %s: %u value(s) failed signature verification\n", cmd, bad);
      return 1;
    }
  return 0;
}

int
disco_tool_cmd_fetch (int argc, char **argv)
{
  return fetch_or_stat (argc, argv, "fetch");
}

int
disco_tool_cmd_stat (int argc, char **argv)
{
  return fetch_or_stat (argc, argv, "stat");
}

/* ---- ping ------------------------------------------------------------------ */

int
disco_tool_cmd_ping (int argc, char **argv)
{
  Client c = { .cmd = "ping" };
  int rc = client_start (&c, argc, argv, "- ping a node (default: the admitting peer)", NULL, 0);
  if (rc >= 0)
    {
      client_clear (&c);
      return rc;
    }
  DiscoReloadDestination d;
  memset (&d, 0, sizeof d);
  DiscoReloadNodeId id;
  if (c.to && disco_reload_node_id_from_hex (c.to, &id))
    disco_reload_destination_set_node (&d, &id);
  else
    {
      memset (&id, 0xff, sizeof id); /* wildcard: whoever receives it answers */
      disco_reload_destination_set_node (&d, &id);
    }
  DiscoReloadMessage *req = disco_reload_node_new_request (c.node, DISCO_RELOAD_PING_REQ, &d);
  gint64 t0 = g_get_monotonic_time ();
  DiscoReloadMessage *ans = client_request (&c, req);
  gint64 t1 = g_get_monotonic_time ();
  rc = answer_or_fail (&c, ans);
  if (rc >= 0)
    {
      client_clear (&c);
      return rc;
    }
  double rtt_ms = (t1 - t0) / 1000.0;
  g_autofree char *from = NULL;
  if (ans->security.certificates->len > 0)
    {
      DiscoReloadGenericCertificate *gc = ans->security.certificates->pdata[0];
      gsize len;
      const guint8 *der = g_bytes_get_data (gc->certificate, &len);
      g_autoptr (DiscoReloadCert) cert = disco_reload_cert_new_from_der (der, len, NULL);
      if (cert && cert->node_ids->len > 0)
        from = disco_reload_node_id_to_hex (&g_array_index (cert->node_ids, DiscoReloadNodeId, 0));
    }
  if (c.json)
    {
      json_object *o = json_object_new_object ();
      json_object_object_add (o, "ok", json_object_new_boolean (TRUE));
      json_object_object_add (o, "rtt_ms", json_object_new_double (rtt_ms));
      json_object_object_add (o, "response_id",
                              json_object_new_int64 ((gint64)ans->body.ping_ans.response_id));
      json_object_object_add (o, "time", json_object_new_int64 ((gint64)ans->body.ping_ans.time));
      if (from)
        json_object_object_add (o, "node_id", json_object_new_string (from));
      print_json (o);
    }
  else
    g_print ("answer from %s in %.1f ms\n", from ? from : "?", rtt_ms);
  client_clear (&c);
  return 0;
}
