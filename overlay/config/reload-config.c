/* reload-config.c: RFC 6940 §11.1 overlay configuration parser (libxml2). */
#define G_LOG_DOMAIN "disco-reload-config"

#include "reload-config.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/sha.h>

G_DEFINE_QUARK (disco - reload - config - error - quark, disco_reload_config_error)

static const struct
{
  const char *name;
  guint32 id;
  DiscoReloadDataModel model;
  DiscoReloadAccessPolicy access;
} iana_kinds[] = {
  { "SIP-REGISTRATION", DISCO_RELOAD_KIND_SIP_REGISTRATION, DISCO_RELOAD_DATA_MODEL_DICTIONARY,
    DISCO_RELOAD_ACCESS_USER_NODE_MATCH },
  { "TURN-SERVICE", DISCO_RELOAD_KIND_TURN_SERVICE, DISCO_RELOAD_DATA_MODEL_SINGLE,
    DISCO_RELOAD_ACCESS_NODE_MULTIPLE },
  { "CERTIFICATE_BY_NODE", DISCO_RELOAD_KIND_CERTIFICATE_BY_NODE, DISCO_RELOAD_DATA_MODEL_ARRAY,
    DISCO_RELOAD_ACCESS_NODE_MATCH },
  { "ACCESS-CONTROL-LIST", DISCO_RELOAD_KIND_ACCESS_CONTROL_LIST, DISCO_RELOAD_DATA_MODEL_ARRAY,
    DISCO_RELOAD_ACCESS_USER_CHAIN_ACL },
  { "CERTIFICATE_BY_USER", DISCO_RELOAD_KIND_CERTIFICATE_BY_USER, DISCO_RELOAD_DATA_MODEL_ARRAY,
    DISCO_RELOAD_ACCESS_USER_MATCH },
  { "REDIR", DISCO_RELOAD_KIND_REDIR, DISCO_RELOAD_DATA_MODEL_DICTIONARY,
    DISCO_RELOAD_ACCESS_NODE_ID_MATCH },
};

static const struct
{
  const char *name;
  DiscoReloadAccessPolicy policy;
} access_names[] = {
  { "USER-MATCH", DISCO_RELOAD_ACCESS_USER_MATCH },
  { "NODE-MATCH", DISCO_RELOAD_ACCESS_NODE_MATCH },
  { "USER-NODE-MATCH", DISCO_RELOAD_ACCESS_USER_NODE_MATCH },
  { "NODE-MULTIPLE", DISCO_RELOAD_ACCESS_NODE_MULTIPLE },
  { "USER-CHAIN-ACL", DISCO_RELOAD_ACCESS_USER_CHAIN_ACL },
  { "NODE-ID-MATCH", DISCO_RELOAD_ACCESS_NODE_ID_MATCH },
};

/* Extensions we implement; a mandatory-extension outside this list makes the
 * overlay unusable for us (RFC 6940 §11.1: the node MUST NOT join). */
static const char *const supported_extensions[] = {
  DISCO_RELOAD_NS_CHORD,
  DISCO_RELOAD_NS_SHARE,
  DISCO_RELOAD_NS_SIP,
};

guint32
disco_reload_kind_id_from_name (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (iana_kinds); i++)
    if (g_ascii_strcasecmp (name, iana_kinds[i].name) == 0)
      return iana_kinds[i].id;
  return 0;
}

const char *
disco_reload_kind_name_from_id (guint32 id)
{
  for (gsize i = 0; i < G_N_ELEMENTS (iana_kinds); i++)
    if (iana_kinds[i].id == id)
      return iana_kinds[i].name;
  if (id == DISCO_RELOAD_KIND_DISCO_REGISTRATION)
    return "DISCO-REGISTRATION";
  return NULL;
}

const char *
disco_reload_access_policy_to_string (DiscoReloadAccessPolicy policy)
{
  for (gsize i = 0; i < G_N_ELEMENTS (access_names); i++)
    if (access_names[i].policy == policy)
      return access_names[i].name;
  return "UNKNOWN";
}

const char *
disco_reload_data_model_to_string (DiscoReloadDataModel model)
{
  switch (model)
    {
      case DISCO_RELOAD_DATA_MODEL_UNKNOWN:
        break;
      case DISCO_RELOAD_DATA_MODEL_SINGLE:
        return "SINGLE";
      case DISCO_RELOAD_DATA_MODEL_ARRAY:
        return "ARRAY";
      case DISCO_RELOAD_DATA_MODEL_DICTIONARY:
        return "DICTIONARY";
    }
  return "INVALID";
}

/* The wire module exports disco_reload_overlay_hash(); the config keeps its
 * own copy so it does not depend on the codec library at link time. */
static guint32
overlay_hash (const char *name)
{
  guint8 md[SHA_DIGEST_LENGTH];

  SHA1 ((const guint8 *)name, strlen (name), md);
  return ((guint32)md[16] << 24) | ((guint32)md[17] << 16) | ((guint32)md[18] << 8) | md[19];
}

/* ---- object lifetime ---------------------------------------------------- */

static void
kind_free (gpointer p)
{
  DiscoReloadKindConfig *kind = p;

  g_free (kind->name);
  g_free (kind->access_name);
  g_strfreev (kind->patterns);
  g_strfreev (kind->domain_patterns);
  g_free (kind->kind_signature);
  g_clear_pointer (&kind->kind_xml, g_bytes_unref);
  g_free (kind);
}

static void
bootstrap_free (gpointer p)
{
  DiscoReloadBootstrapNode *node = p;

  g_free (node->address);
  g_free (node);
}

DiscoReloadConfig *
disco_reload_config_new (void)
{
  DiscoReloadConfig *c = g_new0 (DiscoReloadConfig, 1);

  c->ref_count = 1;
  c->topology_plugin = g_strdup ("CHORD-RELOAD");
  c->node_id_length = 16;
  c->initial_ttl = 100;
  c->max_message_size = 5000;
  c->overlay_reliability_timer = 3000;
  c->turn_density = 1;
  c->clients_permitted = TRUE;
  c->self_signed_digest = DISCO_RELOAD_DIGEST_SHA1;
  c->chord_update_interval = 600;
  c->chord_ping_interval = 3600;
  c->chord_reactive = TRUE;
  c->bootstrap_nodes = g_ptr_array_new_with_free_func (bootstrap_free);
  c->enrollment_servers = g_ptr_array_new_with_free_func (g_free);
  c->root_certs = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  c->link_protocols = g_ptr_array_new_with_free_func (g_free);
  c->configuration_signers = g_ptr_array_new_with_free_func (g_free);
  c->kind_signers = g_ptr_array_new_with_free_func (g_free);
  c->bad_nodes = g_ptr_array_new_with_free_func (g_free);
  c->mandatory_extensions = g_ptr_array_new_with_free_func (g_free);
  c->kinds = g_ptr_array_new_with_free_func (kind_free);
  c->root_xmlns = g_ptr_array_new_with_free_func (g_free);
  return c;
}

DiscoReloadConfig *
disco_reload_config_ref (DiscoReloadConfig *config)
{
  g_atomic_int_inc (&config->ref_count);
  return config;
}

void
disco_reload_config_unref (DiscoReloadConfig *c)
{
  if (c == NULL || !g_atomic_int_dec_and_test (&c->ref_count))
    return;
  g_free (c->instance_name);
  g_free (c->expiration);
  g_free (c->topology_plugin);
  g_free (c->shared_secret);
  g_ptr_array_unref (c->bootstrap_nodes);
  g_ptr_array_unref (c->enrollment_servers);
  g_ptr_array_unref (c->root_certs);
  g_ptr_array_unref (c->link_protocols);
  g_ptr_array_unref (c->configuration_signers);
  g_ptr_array_unref (c->kind_signers);
  g_ptr_array_unref (c->bad_nodes);
  g_ptr_array_unref (c->mandatory_extensions);
  g_ptr_array_unref (c->kinds);
  g_free (c->signature);
  g_clear_pointer (&c->configuration_xml, g_bytes_unref);
  g_ptr_array_unref (c->root_xmlns);
  g_free (c);
}

void
disco_reload_config_set_instance_name (DiscoReloadConfig *config, const char *name)
{
  g_free (config->instance_name);
  config->instance_name = g_strdup (name);
  config->overlay_hash = overlay_hash (name);
}

const DiscoReloadKindConfig *
disco_reload_config_find_kind (const DiscoReloadConfig *config, guint32 kind_id)
{
  for (guint i = 0; i < config->kinds->len; i++)
    {
      const DiscoReloadKindConfig *k = g_ptr_array_index (config->kinds, i);
      if (k->id == kind_id)
        return k;
    }
  return NULL;
}

/* ---- parsing helpers ---------------------------------------------------- */

typedef struct
{
  const char *origin;
  const char *data;
  gsize len;
} ParseCtx;

G_GNUC_PRINTF (4, 5)
static void
set_error (GError **error, const ParseCtx *ctx, xmlNode *node, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, DISCO_RELOAD_CONFIG_ERROR, DISCO_RELOAD_CONFIG_ERROR_INVALID, "%s:%ld: %s",
               ctx->origin, node ? xmlGetLineNo (node) : 0L, msg);
}

static gboolean
ns_is (xmlNode *node, const char *ns)
{
  /* Elements without any namespace are read as config-base: several
   * deployed documents forget the default xmlns. */
  if (node->ns == NULL || node->ns->href == NULL)
    return g_strcmp0 (ns, DISCO_RELOAD_NS_BASE) == 0;
  return strcmp ((const char *)node->ns->href, ns) == 0;
}

static gboolean
is_elem (xmlNode *node, const char *ns, const char *name)
{
  return node->type == XML_ELEMENT_NODE && strcmp ((const char *)node->name, name) == 0
         && ns_is (node, ns);
}

static char *
node_text (xmlNode *node)
{
  xmlChar *raw = xmlNodeGetContent (node);
  char *text = g_strdup (raw ? g_strstrip ((char *)raw) : "");

  xmlFree (raw);
  return text;
}

static char *
node_attr (xmlNode *node, const char *name)
{
  xmlChar *raw = xmlGetNoNsProp (node, (const xmlChar *)name);
  char *text = raw ? g_strdup (g_strstrip ((char *)raw)) : NULL;

  xmlFree (raw);
  return text;
}

static gboolean
parse_uint_text (const char *text, guint64 min, guint64 max, guint64 *out)
{
  return g_ascii_string_to_unsigned (text, 10, min, max, out, NULL);
}

static gboolean
elem_uint (const ParseCtx *ctx, xmlNode *node, guint64 min, guint64 max, guint64 *out,
           GError **error)
{
  g_autofree char *text = node_text (node);

  if (!parse_uint_text (text, min, max, out))
    {
      set_error (error, ctx, node,
                 "<%s> must be an integer in %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT
                 ", not \"%s\"",
                 node->name, min, max, text);
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_bool_text (const char *text, gboolean *out)
{
  /* xsd:boolean */
  if (strcmp (text, "true") == 0 || strcmp (text, "1") == 0)
    *out = TRUE;
  else if (strcmp (text, "false") == 0 || strcmp (text, "0") == 0)
    *out = FALSE;
  else
    return FALSE;
  return TRUE;
}

static gboolean
elem_bool (const ParseCtx *ctx, xmlNode *node, gboolean *out, GError **error)
{
  g_autofree char *text = node_text (node);

  if (!parse_bool_text (text, out))
    {
      set_error (error, ctx, node, "<%s> must be true/false/1/0, not \"%s\"", node->name, text);
      return FALSE;
    }
  return TRUE;
}

static gboolean
list_push (const ParseCtx *ctx, xmlNode *node, GPtrArray *list, gpointer item, GError **error)
{
  if (list->len >= DISCO_RELOAD_CONFIG_MAX_LIST)
    {
      g_set_error (error, DISCO_RELOAD_CONFIG_ERROR, DISCO_RELOAD_CONFIG_ERROR_TOO_LARGE,
                   "%s:%ld: more than %d <%s> elements", ctx->origin, xmlGetLineNo (node),
                   DISCO_RELOAD_CONFIG_MAX_LIST, node->name);
      g_ptr_array_add (list, item); /* the config owns it and frees it with the rest */
      return FALSE;
    }
  g_ptr_array_add (list, item);
  return TRUE;
}

static gboolean
elem_hex_node_id (const ParseCtx *ctx, xmlNode *node, GPtrArray *list, GError **error)
{
  g_autofree char *text = node_text (node);
  gsize n = strlen (text);

  if (n == 0 || n % 2 != 0 || n > 40)
    goto bad;
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isxdigit (text[i]))
      goto bad;
  return list_push (ctx, node, list, g_ascii_strdown (text, -1), error);

bad:
  set_error (error, ctx, node, "<%s> must be a hex Node-ID, not \"%s\"", node->name, text);
  return FALSE;
}

/* End of the tag starting at @i ('<'), honouring quoted attribute values;
 * returns the index just past '>' or 0. */
static gsize
tag_end (const char *data, gsize i, gsize to, gboolean *self_closing)
{
  char quote = 0;

  for (gsize j = i + 1; j < to; j++)
    {
      if (quote)
        {
          if (data[j] == quote)
            quote = 0;
        }
      else if (data[j] == '"' || data[j] == '\'')
        quote = data[j];
      else if (data[j] == '>')
        {
          *self_closing = data[j - 1] == '/';
          return j + 1;
        }
    }
  return 0;
}

static gsize
skip_past (const char *data, gsize i, gsize to, const char *end)
{
  gsize n = strlen (end);

  for (gsize j = i; j + n <= to; j++)
    if (memcmp (data + j, end, n) == 0)
      return j + n;
  return to;
}

/* Locates the exact bytes of the @index-th <@local ...>...</@local> element
 * (any namespace prefix) within [@from, @to) of the source, because
 * configuration and kind signatures cover the bytes as written.  Comments,
 * CDATA, processing instructions and nested same-named elements are skipped
 * properly.  Returns NULL if it cannot be found. */
static GBytes *
find_element_bytes (const char *data, gsize from, gsize to, const char *local, guint index,
                    gsize *end_out)
{
  gsize llen = strlen (local);
  gsize start = 0;
  gboolean have_start = FALSE;
  guint seen = 0, depth = 0;
  gsize i = from;

  while (i < to)
    {
      gboolean closing, self_closing = FALSE;
      gsize name_start, name_end, colon, after;

      if (data[i] != '<')
        {
          i++;
          continue;
        }
      if (to - i >= 4 && memcmp (data + i, "<!--", 4) == 0)
        {
          i = skip_past (data, i + 4, to, "-->");
          continue;
        }
      if (to - i >= 9 && memcmp (data + i, "<![CDATA[", 9) == 0)
        {
          i = skip_past (data, i + 9, to, "]]>");
          continue;
        }
      if (to - i >= 2 && (data[i + 1] == '?' || data[i + 1] == '!'))
        {
          i = skip_past (data, i + 2, to, ">");
          continue;
        }
      closing = (i + 1 < to && data[i + 1] == '/');
      name_start = i + 1 + (closing ? 1 : 0);
      name_end = name_start;
      colon = name_start;
      while (name_end < to
             && (g_ascii_isalnum (data[name_end]) || data[name_end] == '-' || data[name_end] == '_'
                 || data[name_end] == '.' || data[name_end] == ':'))
        {
          if (data[name_end] == ':')
            colon = name_end + 1;
          name_end++;
        }
      after = tag_end (data, i, to, &self_closing);
      if (after == 0)
        return NULL;
      if (name_end - colon == llen && memcmp (data + colon, local, llen) == 0)
        {
          if (!closing && !have_start)
            {
              if (seen++ == index)
                {
                  if (self_closing)
                    {
                      if (end_out)
                        *end_out = after;
                      return g_bytes_new (data + i, after - i);
                    }
                  start = i;
                  have_start = TRUE;
                  depth = 1;
                }
            }
          else if (!closing && have_start && !self_closing)
            depth++;
          else if (closing && have_start && --depth == 0)
            {
              if (end_out)
                *end_out = after;
              return g_bytes_new (data + start, after - start);
            }
        }
      i = after;
    }
  return NULL;
}

/* libxml2 reports some conditions (bad input encodings) through its
 * thread-local generic error handler, which prints to stderr whatever the
 * parser options say.  Untrusted documents must not be able to write to our
 * stderr, so the handler is silenced around our parses and restored. */
typedef struct
{
  xmlGenericErrorFunc func;
  void *ctx;
} SavedHandler;

static void
silent_generic_error (void *ctx, const char *msg, ...)
{
}

static SavedHandler
quiet_libxml (void)
{
  SavedHandler saved = { xmlGenericError, xmlGenericErrorContext };

  xmlSetGenericErrorFunc (NULL, silent_generic_error);
  return saved;
}

static void
restore_libxml (SavedHandler saved)
{
  xmlSetGenericErrorFunc (saved.ctx, saved.func);
}

static xmlDocPtr
read_memory (xmlParserCtxtPtr pctx, const char *data, gsize len, const char *origin)
{
  SavedHandler saved = quiet_libxml ();
  /* No NOENT (no entity substitution), no DTDLOAD, no network: a
   * configuration fetched from the overlay is untrusted input. */
  xmlDocPtr doc = xmlCtxtReadMemory (pctx, data, (int)len, origin, NULL,
                                     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING
                                         | XML_PARSE_NOBLANKS);

  restore_libxml (saved);
  return doc;
}

/* ---- kinds -------------------------------------------------------------- */

static gboolean
parse_patterns (const ParseCtx *ctx, xmlNode *node, const char *ns, gboolean *enabled,
                char ***patterns, GError **error)
{
  g_autofree char *enable = node_attr (node, "enable");
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func (g_free);

  *enabled = FALSE;
  if (enable != NULL && !parse_bool_text (enable, enabled))
    {
      set_error (error, ctx, node, "enable=\"%s\" is not a boolean", enable);
      return FALSE;
    }
  for (xmlNode *c = node->children; c; c = c->next)
    {
      if (!is_elem (c, ns, "pattern"))
        continue;
      if (list->len >= DISCO_RELOAD_CONFIG_MAX_LIST)
        {
          set_error (error, ctx, c, "too many <pattern> elements");
          return FALSE;
        }
      g_ptr_array_add (list, node_text (c));
    }
  if (*enabled && list->len == 0)
    /* RFC 8076 §5.3: with no pattern only the signer's own user name is
     * allowed, which is what a disabled extension means too. */
    g_warning ("%s:%ld: variable names enabled without <pattern>; only user names allowed",
               ctx->origin, xmlGetLineNo (node));
  g_ptr_array_add (list, NULL);
  g_strfreev (*patterns);
  *patterns = (char **)g_ptr_array_steal (list, NULL);
  return TRUE;
}

static DiscoReloadKindConfig *
parse_kind (const ParseCtx *ctx, xmlNode *knode, GError **error)
{
  DiscoReloadKindConfig *kind = g_new0 (DiscoReloadKindConfig, 1);
  g_autofree char *name = node_attr (knode, "name");
  g_autofree char *id = node_attr (knode, "id");
  gboolean have_model = FALSE, have_access = FALSE;

  kind->line = xmlGetLineNo (knode);
  kind->patterns = g_new0 (char *, 1);
  kind->domain_patterns = g_new0 (char *, 1);

  if ((name == NULL) == (id == NULL))
    {
      set_error (error, ctx, knode, "<kind> needs exactly one of name= or id=");
      goto fail;
    }
  if (name != NULL)
    {
      kind->id = disco_reload_kind_id_from_name (name);
      if (kind->id == 0)
        {
          set_error (error, ctx, knode, "unknown kind name \"%s\" (use id= for private kinds)",
                     name);
          goto fail;
        }
      kind->name = g_ascii_strup (name, -1);
    }
  else
    {
      guint64 v;
      if (!parse_uint_text (id, 1, G_MAXUINT32, &v) || v == 0x7FFFFFFFu || v == 0xFFFFFFFEu)
        {
          set_error (error, ctx, knode, "kind id=\"%s\" is not a valid Kind-ID", id);
          goto fail;
        }
      kind->id = (guint32)v;
    }

  for (xmlNode *c = knode->children; c; c = c->next)
    {
      guint64 v;

      if (c->type != XML_ELEMENT_NODE)
        continue;
      if (is_elem (c, DISCO_RELOAD_NS_BASE, "data-model"))
        {
          g_autofree char *text = node_text (c);
          if (g_ascii_strcasecmp (text, "SINGLE") == 0)
            kind->data_model = DISCO_RELOAD_DATA_MODEL_SINGLE;
          else if (g_ascii_strcasecmp (text, "ARRAY") == 0)
            kind->data_model = DISCO_RELOAD_DATA_MODEL_ARRAY;
          else if (g_ascii_strcasecmp (text, "DICTIONARY") == 0)
            kind->data_model = DISCO_RELOAD_DATA_MODEL_DICTIONARY;
          else
            {
              set_error (error, ctx, c, "unknown data-model \"%s\"", text);
              goto fail;
            }
          have_model = TRUE;
        }
      else if (is_elem (c, DISCO_RELOAD_NS_BASE, "access-control"))
        {
          g_autofree char *text = node_text (c);
          kind->access = DISCO_RELOAD_ACCESS_UNKNOWN;
          for (gsize i = 0; i < G_N_ELEMENTS (access_names); i++)
            if (g_ascii_strcasecmp (text, access_names[i].name) == 0)
              kind->access = access_names[i].policy;
          if (text[0] == '\0')
            {
              set_error (error, ctx, c, "empty <access-control>");
              goto fail;
            }
          g_free (kind->access_name);
          kind->access_name = g_ascii_strup (text, -1);
          have_access = TRUE;
        }
      else if (is_elem (c, DISCO_RELOAD_NS_BASE, "max-count"))
        {
          if (!elem_uint (ctx, c, 0, G_MAXUINT32, &v, error))
            goto fail;
          kind->max_count = (guint32)v;
        }
      else if (is_elem (c, DISCO_RELOAD_NS_BASE, "max-size"))
        {
          if (!elem_uint (ctx, c, 0, G_MAXUINT32, &v, error))
            goto fail;
          kind->max_size = (guint32)v;
        }
      else if (is_elem (c, DISCO_RELOAD_NS_BASE, "max-node-multiple"))
        {
          if (!elem_uint (ctx, c, 1, G_MAXUINT32, &v, error))
            goto fail;
          kind->max_node_multiple = (guint32)v;
        }
      else if (is_elem (c, DISCO_RELOAD_NS_SHARE, "variable-resource-names"))
        {
          if (!parse_patterns (ctx, c, DISCO_RELOAD_NS_SHARE, &kind->variable_names,
                               &kind->patterns, error))
            goto fail;
        }
      else if (is_elem (c, DISCO_RELOAD_NS_SIP, "domain-restriction")
               || is_elem (c, DISCO_RELOAD_NS_SIP, "domain-restrictions"))
        {
          kind->has_domain_restriction = TRUE;
          if (!parse_patterns (ctx, c, DISCO_RELOAD_NS_SIP, &kind->domain_restriction_enabled,
                               &kind->domain_patterns, error))
            goto fail;
        }
      /* Other elements are extension parameters of kinds we ignore. */
    }

  /* For IANA kinds the registered model and policy win (RFC 6940 §11.1). */
  for (gsize i = 0; i < G_N_ELEMENTS (iana_kinds); i++)
    if (iana_kinds[i].id == kind->id)
      {
        if (have_model && kind->data_model != iana_kinds[i].model)
          g_debug ("%s: kind %u data-model overridden by the registry", ctx->origin, kind->id);
        if (have_access && kind->access != iana_kinds[i].access)
          g_debug ("%s: kind %u access-control overridden by the registry", ctx->origin, kind->id);
        kind->data_model = iana_kinds[i].model;
        kind->access = iana_kinds[i].access;
        g_free (kind->access_name);
        kind->access_name = g_strdup (disco_reload_access_policy_to_string (kind->access));
        have_model = have_access = TRUE;
        if (kind->id == DISCO_RELOAD_KIND_TURN_SERVICE && kind->max_node_multiple == 0)
          kind->max_node_multiple = 20;
      }
  if (!have_model)
    {
      set_error (error, ctx, knode, "kind %u has no <data-model>", kind->id);
      goto fail;
    }
  if (!have_access)
    {
      set_error (error, ctx, knode, "kind %u has no <access-control>", kind->id);
      goto fail;
    }
  if (kind->access == DISCO_RELOAD_ACCESS_NODE_MULTIPLE && kind->max_node_multiple == 0)
    {
      set_error (error, ctx, knode, "kind %u uses NODE-MULTIPLE without <max-node-multiple>",
                 kind->id);
      goto fail;
    }
  if (kind->access == DISCO_RELOAD_ACCESS_USER_CHAIN_ACL
      && kind->data_model == DISCO_RELOAD_DATA_MODEL_SINGLE)
    {
      /* RFC 8076 §3: isolation needs array or dictionary. */
      set_error (error, ctx, knode, "kind %u: USER-CHAIN-ACL requires ARRAY or DICTIONARY",
                 kind->id);
      goto fail;
    }
  return kind;

fail:
  kind_free (kind);
  return NULL;
}

static gboolean
parse_required_kinds (const ParseCtx *ctx, DiscoReloadConfig *c, xmlNode *node, gsize cfg_from,
                      gsize cfg_to, guint *kind_index, GError **error)
{
  for (xmlNode *block = node->children; block; block = block->next)
    {
      xmlNode *knode = NULL, *sig = NULL;
      DiscoReloadKindConfig *kind;

      if (block->type != XML_ELEMENT_NODE)
        continue;
      if (!is_elem (block, DISCO_RELOAD_NS_BASE, "kind-block"))
        {
          set_error (error, ctx, block, "unexpected <%s> in <required-kinds>", block->name);
          return FALSE;
        }
      for (xmlNode *c2 = block->children; c2; c2 = c2->next)
        {
          if (is_elem (c2, DISCO_RELOAD_NS_BASE, "kind"))
            {
              if (knode)
                {
                  set_error (error, ctx, c2, "more than one <kind> in a <kind-block>");
                  return FALSE;
                }
              knode = c2;
            }
          else if (is_elem (c2, DISCO_RELOAD_NS_BASE, "kind-signature"))
            sig = c2;
        }
      if (knode == NULL)
        {
          set_error (error, ctx, block, "<kind-block> without <kind>");
          return FALSE;
        }
      if (c->kinds->len >= DISCO_RELOAD_CONFIG_MAX_KINDS)
        {
          g_set_error (error, DISCO_RELOAD_CONFIG_ERROR, DISCO_RELOAD_CONFIG_ERROR_TOO_LARGE,
                       "%s:%ld: more than %d kinds", ctx->origin, xmlGetLineNo (knode),
                       DISCO_RELOAD_CONFIG_MAX_KINDS);
          return FALSE;
        }
      kind = parse_kind (ctx, knode, error);
      if (kind == NULL)
        return FALSE;
      if (disco_reload_config_find_kind (c, kind->id))
        {
          set_error (error, ctx, knode, "kind %u defined twice", kind->id);
          kind_free (kind);
          return FALSE;
        }
      if (sig)
        kind->kind_signature = node_text (sig);
      if (ctx->data)
        kind->kind_xml
            = find_element_bytes (ctx->data, cfg_from, cfg_to, "kind", *kind_index, NULL);
      (*kind_index)++;
      g_ptr_array_add (c->kinds, kind);
    }
  return TRUE;
}

/* ---- configuration element ---------------------------------------------- */

static gboolean
parse_configuration (const ParseCtx *ctx, DiscoReloadConfig *c, xmlNode *cfg, gsize cfg_from,
                     gsize cfg_to, GError **error)
{
  g_autofree char *name = node_attr (cfg, "instance-name");
  g_autofree char *seq = node_attr (cfg, "sequence");
  guint kind_index = 0;
  gboolean have_link = FALSE;
  guint64 v;

  if (name == NULL || name[0] == '\0' || strlen (name) > 253 || strchr (name, '/')
      || strchr (name, '@') || strchr (name, ' '))
    {
      set_error (error, ctx, cfg, "<configuration> needs a DNS-name instance-name attribute");
      return FALSE;
    }
  disco_reload_config_set_instance_name (c, name);
  if (seq != NULL)
    {
      if (!parse_uint_text (seq, 0, 65535, &v))
        {
          set_error (error, ctx, cfg, "sequence=\"%s\" must be 0..65535", seq);
          return FALSE;
        }
      c->sequence = (guint16)v;
    }
  c->expiration = node_attr (cfg, "expiration");

  for (xmlNode *n = cfg->children; n; n = n->next)
    {
      if (n->type != XML_ELEMENT_NODE)
        continue;
      if (is_elem (n, DISCO_RELOAD_NS_BASE, "topology-plugin")
          || is_elem (n, DISCO_RELOAD_NS_BASE, "topology-plug-in"))
        {
          g_free (c->topology_plugin);
          c->topology_plugin = node_text (n);
          if (strcmp (c->topology_plugin, "CHORD-RELOAD") != 0)
            {
              g_set_error (error, DISCO_RELOAD_CONFIG_ERROR, DISCO_RELOAD_CONFIG_ERROR_UNSUPPORTED,
                           "%s:%ld: topology plugin \"%s\" is not supported (only CHORD-RELOAD)",
                           ctx->origin, xmlGetLineNo (n), c->topology_plugin);
              return FALSE;
            }
        }
      else if (is_elem (n, DISCO_RELOAD_NS_BASE, "node-id-length"))
        {
          if (!elem_uint (ctx, n, 16, 20, &v, error))
            return FALSE;
          /* RFC 6940 allows 16..20, but the wire codec's NodeId is fixed
           * at 128 bits: a longer one would be misparsed, not negotiated. */
          if (v != DISCO_RELOAD_NODE_ID_LENGTH)
            {
              g_set_error (error, DISCO_RELOAD_CONFIG_ERROR, DISCO_RELOAD_CONFIG_ERROR_UNSUPPORTED,
                           "%s:%ld: node-id-length %u is not supported (only %u-byte Node-IDs)",
                           ctx->origin, xmlGetLineNo (n), (guint)v, DISCO_RELOAD_NODE_ID_LENGTH);
              return FALSE;
            }
          c->node_id_length = (guint)v;
        }
      else if (is_elem (n, DISCO_RELOAD_NS_BASE, "root-cert"))
        {
          g_autofree char *text = node_text (n);
          gsize der_len = 0;
          guchar *der;

          /* g_base64_decode is lenient; reject obviously non-base64 text. */
          for (const char *p = text; *p; p++)
            if (!g_ascii_isalnum (*p) && *p != '+' && *p != '/' && *p != '='
                && !g_ascii_isspace (*p))
              {
                set_error (error, ctx, n, "<root-cert> is not base64");
                return FALSE;
              }
          der = g_base64_decode (text, &der_len);
          if (der_len == 0)
            {
              g_free (der);
              set_error (error, ctx, n, "<root-cert> is empty");
              return FALSE;
            }
          if (!list_push (ctx, n, c->root_certs, g_bytes_new_take (der, der_len), error))
            return FALSE;
        }
      else if (is_elem (n, DISCO_RELOAD_NS_BASE, "enrollment-server"))
        {
          char *url = node_text (n);
          if (!g_str_has_prefix (url, "https://"))
            {
              set_error (error, ctx, n, "<enrollment-server> must be an https URL, not \"%s\"",
                         url);
              g_free (url);
              return FALSE;
            }
          if (!list_push (ctx, n, c->enrollment_servers, url, error))
            return FALSE;
        }
      else if (is_elem (n, DISCO_RELOAD_NS_BASE, "self-signed-permitted"))
        {
          g_autofree char *digest = node_attr (n, "digest");
          if (!elem_bool (ctx, n, &c->self_signed_permitted, error))
            return FALSE;
          if (digest == NULL || g_ascii_strcasecmp (digest, "sha1") == 0)
            c->self_signed_digest = DISCO_RELOAD_DIGEST_SHA1;
          else if (g_ascii_strcasecmp (digest, "sha256") == 0
                   || g_ascii_strcasecmp (digest, "sha-256") == 0)
            c->self_signed_digest = DISCO_RELOAD_DIGEST_SHA256;
          else
            {
              set_error (error, ctx, n, "digest=\"%s\" must be sha1 or sha256", digest);
              return FALSE;
            }
        }
      else if (is_elem (n, DISCO_RELOAD_NS_BASE, "bootstrap-node"))
        {
          g_autofree char *addr = node_attr (n, "address");
          g_autofree char *port = node_attr (n, "port");
          DiscoReloadBootstrapNode *b;

          if (addr == NULL || addr[0] == '\0' || strlen (addr) > 255)
            {
              set_error (error, ctx, n, "<bootstrap-node> needs an address attribute");
              return FALSE;
            }
          if (port != NULL && !parse_uint_text (port, 1, 65535, &v))
            {
              set_error (error, ctx, n, "bootstrap-node port=\"%s\" must be 1..65535", port);
              return FALSE;
            }
          b = g_new0 (DiscoReloadBootstrapNode, 1);
          b->address = g_steal_pointer (&addr);
          b->port = port ? (guint16)v : 6084;
          if (!list_push (ctx, n, c->bootstrap_nodes, b, error))
            return FALSE;
        }
      else if (is_elem (n, DISCO_RELOAD_NS_BASE, "turn-density"))
        {
          if (!elem_uint (ctx, n, 0, 255, &v, error))
            return FALSE;
          c->turn_density = (guint)v;
        }
      else if (is_elem (n, DISCO_RELOAD_NS_BASE, "clients-permitted"))
        {
          if (!elem_bool (ctx, n, &c->clients_permitted, error))
            return FALSE;
        }
      else if (is_elem (n, DISCO_RELOAD_NS_BASE, "no-ice"))
        {
          if (!elem_bool (ctx, n, &c->no_ice, error))
            return FALSE;
        }
      else if (is_elem (n, DISCO_RELOAD_NS_BASE, "shared-secret"))
        {
          g_free (c->shared_secret);
          c->shared_secret = node_text (n);
        }
      else if (is_elem (n, DISCO_RELOAD_NS_BASE, "max-message-size"))
        {
          if (!elem_uint (ctx, n, 256, G_MAXUINT32, &v, error))
            return FALSE;
          c->max_message_size = (guint32)v;
        }
      else if (is_elem (n, DISCO_RELOAD_NS_BASE, "initial-ttl"))
        {
          if (!elem_uint (ctx, n, 1, 255, &v, error))
            return FALSE;
          c->initial_ttl = (guint)v;
        }
      else if (is_elem (n, DISCO_RELOAD_NS_BASE, "overlay-reliability-timer"))
        {
          if (!elem_uint (ctx, n, 200, 600000, &v, error))
            return FALSE;
          c->overlay_reliability_timer = (guint)v;
        }
      else if (is_elem (n, DISCO_RELOAD_NS_BASE, "overlay-link-protocol"))
        {
          have_link = TRUE;
          if (!list_push (ctx, n, c->link_protocols, node_text (n), error))
            return FALSE;
        }
      else if (is_elem (n, DISCO_RELOAD_NS_BASE, "configuration-signer"))
        {
          if (!elem_hex_node_id (ctx, n, c->configuration_signers, error))
            return FALSE;
        }
      else if (is_elem (n, DISCO_RELOAD_NS_BASE, "kind-signer"))
        {
          if (!elem_hex_node_id (ctx, n, c->kind_signers, error))
            return FALSE;
        }
      else if (is_elem (n, DISCO_RELOAD_NS_BASE, "bad-node"))
        {
          if (!elem_hex_node_id (ctx, n, c->bad_nodes, error))
            return FALSE;
        }
      else if (is_elem (n, DISCO_RELOAD_NS_BASE, "mandatory-extension"))
        {
          char *uri = node_text (n);
          gboolean known = FALSE;
          for (gsize i = 0; i < G_N_ELEMENTS (supported_extensions); i++)
            known |= strcmp (uri, supported_extensions[i]) == 0;
          if (!known)
            {
              g_set_error (error, DISCO_RELOAD_CONFIG_ERROR, DISCO_RELOAD_CONFIG_ERROR_UNSUPPORTED,
                           "%s:%ld: mandatory extension \"%s\" is not supported", ctx->origin,
                           xmlGetLineNo (n), uri);
              g_free (uri);
              return FALSE;
            }
          if (!list_push (ctx, n, c->mandatory_extensions, uri, error))
            return FALSE;
        }
      else if (is_elem (n, DISCO_RELOAD_NS_BASE, "required-kinds"))
        {
          if (!parse_required_kinds (ctx, c, n, cfg_from, cfg_to, &kind_index, error))
            return FALSE;
        }
      else if (is_elem (n, DISCO_RELOAD_NS_CHORD, "chord-update-interval"))
        {
          if (!elem_uint (ctx, n, 1, 86400 * 7, &v, error))
            return FALSE;
          c->chord_update_interval = (guint)v;
        }
      else if (is_elem (n, DISCO_RELOAD_NS_CHORD, "chord-ping-interval"))
        {
          if (!elem_uint (ctx, n, 1, 86400 * 7, &v, error))
            return FALSE;
          c->chord_ping_interval = (guint)v;
        }
      else if (is_elem (n, DISCO_RELOAD_NS_CHORD, "chord-reactive"))
        {
          if (!elem_bool (ctx, n, &c->chord_reactive, error))
            return FALSE;
        }
      else if (is_elem (n, DISCO_RELOAD_NS_DISCO, "plaintext-test-links"))
        {
          if (!elem_bool (ctx, n, &c->plaintext_test_links, error))
            return FALSE;
          if (c->plaintext_test_links)
            g_message ("%s:%ld: this overlay permits plaintext test links (TEST ONLY)", ctx->origin,
                       xmlGetLineNo (n));
        }
      else
        g_debug ("%s:%ld: ignoring <%s>", ctx->origin, xmlGetLineNo (n), n->name);
    }

  if (!have_link)
    g_ptr_array_add (c->link_protocols, g_strdup ("TLS"));
  if (!c->self_signed_permitted && c->root_certs->len == 0 && c->shared_secret == NULL)
    {
      set_error (error, ctx, cfg,
                 "no trust anchor: give <root-cert>, <self-signed-permitted> or <shared-secret>");
      return FALSE;
    }
  return TRUE;
}

/* The byte scan must have found the element libxml2 chose: the bytes must
 * parse (in the root's namespace context) to a <configuration> with the same
 * instance-name.  Otherwise the signature could be checked over the wrong
 * bytes, so we rather keep none. */
static gboolean
configuration_bytes_match (DiscoReloadConfig *c, xmlNode *cfg)
{
  g_autoptr (GString) wrap = g_string_new ("<w");
  g_autofree char *want = node_attr (cfg, "instance-name");
  g_autofree char *got = NULL;
  xmlDocPtr doc;
  xmlNode *root, *child = NULL;

  for (guint i = 0; i + 1 < c->root_xmlns->len; i += 2)
    {
      const char *prefix = g_ptr_array_index (c->root_xmlns, i);
      g_autofree char *href = g_markup_escape_text (g_ptr_array_index (c->root_xmlns, i + 1), -1);
      g_string_append_printf (wrap, " xmlns%s%s=\"%s\"", prefix[0] ? ":" : "", prefix, href);
    }
  g_string_append_c (wrap, '>');
  g_string_append_len (wrap, g_bytes_get_data (c->configuration_xml, NULL),
                       g_bytes_get_size (c->configuration_xml));
  g_string_append (wrap, "</w>");
  {
    SavedHandler saved = quiet_libxml ();
    doc = xmlReadMemory (wrap->str, (int)wrap->len, NULL, NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    restore_libxml (saved);
  }
  if (doc == NULL)
    return FALSE;
  root = xmlDocGetRootElement (doc);
  for (child = root ? root->children : NULL; child && child->type != XML_ELEMENT_NODE;
       child = child->next)
    ;
  if (child && is_elem (child, DISCO_RELOAD_NS_BASE, "configuration"))
    got = node_attr (child, "instance-name");
  xmlFreeDoc (doc);
  return g_strcmp0 (got, want) == 0;
}

DiscoReloadConfig *
disco_reload_config_parse (const char *data, gsize len, const char *instance_name,
                           const char *origin, GError **error)
{
  ParseCtx ctx = { origin ? origin : "<config>", data, len };
  g_autoptr (DiscoReloadConfig) c = NULL;
  xmlParserCtxtPtr pctx;
  xmlDocPtr doc;
  xmlNode *root, *cfg = NULL, *sig = NULL;
  guint cfg_index = 0, n_cfg = 0;
  gsize cfg_from = 0, cfg_to = 0;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  if (len > DISCO_RELOAD_CONFIG_MAX_BYTES)
    {
      g_set_error (error, DISCO_RELOAD_CONFIG_ERROR, DISCO_RELOAD_CONFIG_ERROR_TOO_LARGE,
                   "%s: document of %" G_GSIZE_FORMAT " bytes exceeds the %d byte limit",
                   ctx.origin, len, DISCO_RELOAD_CONFIG_MAX_BYTES);
      return NULL;
    }
  if (len == 0)
    {
      g_set_error (error, DISCO_RELOAD_CONFIG_ERROR, DISCO_RELOAD_CONFIG_ERROR_XML,
                   "%s:1: empty document", ctx.origin);
      return NULL;
    }

  pctx = xmlNewParserCtxt ();
  if (pctx == NULL)
    {
      g_set_error (error, DISCO_RELOAD_CONFIG_ERROR, DISCO_RELOAD_CONFIG_ERROR_XML,
                   "%s: cannot create XML parser", ctx.origin);
      return NULL;
    }
  doc = read_memory (pctx, data, len, ctx.origin);
  if (doc == NULL || !pctx->wellFormed)
    {
      const xmlError *e = xmlCtxtGetLastError (pctx);
      g_autofree char *msg = g_strdup (e && e->message ? e->message : "malformed XML");

      g_strchomp (msg);
      g_set_error (error, DISCO_RELOAD_CONFIG_ERROR, DISCO_RELOAD_CONFIG_ERROR_XML, "%s:%d: %s",
                   ctx.origin, e ? e->line : 0, msg);
      if (doc)
        xmlFreeDoc (doc);
      xmlFreeParserCtxt (pctx);
      return NULL;
    }
  xmlFreeParserCtxt (pctx);

  if (doc->intSubset != NULL || doc->extSubset != NULL)
    {
      g_set_error (error, DISCO_RELOAD_CONFIG_ERROR, DISCO_RELOAD_CONFIG_ERROR_INVALID,
                   "%s:1: DTDs are not allowed in an overlay configuration", ctx.origin);
      xmlFreeDoc (doc);
      return NULL;
    }

  c = disco_reload_config_new ();
  root = xmlDocGetRootElement (doc);
  if (root && is_elem (root, DISCO_RELOAD_NS_BASE, "configuration"))
    cfg = root;
  else if (root && is_elem (root, DISCO_RELOAD_NS_BASE, "overlay"))
    {
      for (xmlNs *ns = root->nsDef; ns; ns = ns->next)
        {
          g_ptr_array_add (c->root_xmlns, g_strdup (ns->prefix ? (const char *)ns->prefix : ""));
          g_ptr_array_add (c->root_xmlns, g_strdup (ns->href ? (const char *)ns->href : ""));
        }
      for (xmlNode *n = root->children; n; n = n->next)
        {
          if (!is_elem (n, DISCO_RELOAD_NS_BASE, "configuration"))
            continue;
          if (cfg == NULL)
            {
              g_autofree char *name = node_attr (n, "instance-name");
              if (instance_name == NULL || g_strcmp0 (name, instance_name) == 0)
                {
                  cfg = n;
                  cfg_index = n_cfg;
                  for (sig = n->next; sig && sig->type != XML_ELEMENT_NODE; sig = sig->next)
                    ;
                  if (sig && !is_elem (sig, DISCO_RELOAD_NS_BASE, "signature"))
                    sig = NULL;
                }
            }
          n_cfg++;
        }
    }
  else
    {
      set_error (error, &ctx, root, "root element must be <overlay> in namespace %s",
                 DISCO_RELOAD_NS_BASE);
      xmlFreeDoc (doc);
      return NULL;
    }
  if (cfg == NULL)
    {
      if (instance_name)
        set_error (error, &ctx, root, "no <configuration> for instance \"%s\"", instance_name);
      else
        set_error (error, &ctx, root, "no <configuration> element");
      xmlFreeDoc (doc);
      return NULL;
    }

  c->configuration_xml = find_element_bytes (data, 0, len, "configuration", cfg_index, &cfg_to);
  if (c->configuration_xml && !configuration_bytes_match (c, cfg))
    g_clear_pointer (&c->configuration_xml, g_bytes_unref);
  if (c->configuration_xml)
    cfg_from = cfg_to - g_bytes_get_size (c->configuration_xml);
  else
    {
      ctx.data = NULL; /* kind bytes cannot be located either */
      cfg_to = 0;
    }
  if (!parse_configuration (&ctx, c, cfg, cfg_from, cfg_to, error))
    {
      xmlFreeDoc (doc);
      return NULL;
    }
  if (sig)
    c->signature = node_text (sig);
  xmlFreeDoc (doc);
  return g_steal_pointer (&c);
}

void
disco_reload_kind_config_free (DiscoReloadKindConfig *kind)
{
  if (kind)
    kind_free (kind);
}

DiscoReloadKindConfig *
disco_reload_kind_config_parse (const char *data, gsize len, const char *origin, GError **error)
{
  static const char open_tag[]
      = "<required-kinds xmlns=\"" DISCO_RELOAD_NS_BASE "\" xmlns:share=\"" DISCO_RELOAD_NS_SHARE
        "\" xmlns:sip=\"" DISCO_RELOAD_NS_SIP "\">";
  ParseCtx ctx = { origin ? origin : "<kind-block>", NULL, 0 };
  g_autoptr (GString) wrapped = NULL;
  g_autoptr (DiscoReloadConfig) tmp = NULL;
  xmlParserCtxtPtr pctx;
  xmlDocPtr doc;
  guint index = 0;
  gboolean ok;

  /* KindDescription is opaque<0..2^16-1>. */
  if (len > G_MAXUINT16)
    {
      g_set_error (error, DISCO_RELOAD_CONFIG_ERROR, DISCO_RELOAD_CONFIG_ERROR_TOO_LARGE,
                   "%s: kind-block of %" G_GSIZE_FORMAT " bytes exceeds 65535", ctx.origin, len);
      return NULL;
    }
  /* Kind blocks default to the config-base namespace: parse the fragment
   * inside a wrapper that declares it (and the extension prefixes). */
  if (len >= 5 && memcmp (data, "<?xml", 5) == 0)
    {
      const char *end = g_strstr_len (data, (gssize)len, "?>");
      if (end == NULL)
        {
          g_set_error (error, DISCO_RELOAD_CONFIG_ERROR, DISCO_RELOAD_CONFIG_ERROR_XML,
                       "%s:1: unterminated XML declaration", ctx.origin);
          return NULL;
        }
      len -= (gsize)(end + 2 - data);
      data = end + 2;
    }
  wrapped = g_string_new (open_tag);
  g_string_append_len (wrapped, data, (gssize)len);
  g_string_append (wrapped, "</required-kinds>");
  ctx.data = wrapped->str;
  ctx.len = wrapped->len;

  pctx = xmlNewParserCtxt ();
  if (pctx == NULL)
    return NULL;
  doc = read_memory (pctx, wrapped->str, wrapped->len, ctx.origin);
  if (doc == NULL || !pctx->wellFormed)
    {
      const xmlError *e = xmlCtxtGetLastError (pctx);
      g_autofree char *msg = g_strdup (e && e->message ? e->message : "malformed XML");

      g_strchomp (msg);
      g_set_error (error, DISCO_RELOAD_CONFIG_ERROR, DISCO_RELOAD_CONFIG_ERROR_XML, "%s:%d: %s",
                   ctx.origin, e ? e->line : 0, msg);
      if (doc)
        xmlFreeDoc (doc);
      xmlFreeParserCtxt (pctx);
      return NULL;
    }
  xmlFreeParserCtxt (pctx);
  tmp = disco_reload_config_new ();
  ok = parse_required_kinds (&ctx, tmp, xmlDocGetRootElement (doc), 0, wrapped->len, &index, error);
  xmlFreeDoc (doc);
  if (!ok)
    return NULL;
  if (tmp->kinds->len != 1)
    {
      g_set_error (error, DISCO_RELOAD_CONFIG_ERROR, DISCO_RELOAD_CONFIG_ERROR_INVALID,
                   "%s:1: expected exactly one <kind-block>, found %u", ctx.origin,
                   tmp->kinds->len);
      return NULL;
    }
  return g_ptr_array_steal_index (tmp->kinds, 0);
}

void
disco_reload_config_add_kind (DiscoReloadConfig *config, DiscoReloadKindConfig *kind)
{
  for (guint i = 0; i < config->kinds->len; i++)
    if (((DiscoReloadKindConfig *)g_ptr_array_index (config->kinds, i))->id == kind->id)
      {
        g_ptr_array_remove_index (config->kinds, i);
        break;
      }
  g_ptr_array_add (config->kinds, kind);
}

DiscoReloadConfig *
disco_reload_config_load_file (const char *path, const char *instance_name, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) local = NULL;
  GStatBuf st;

  if (g_stat (path, &st) == 0 && st.st_size > DISCO_RELOAD_CONFIG_MAX_BYTES)
    {
      g_set_error (error, DISCO_RELOAD_CONFIG_ERROR, DISCO_RELOAD_CONFIG_ERROR_TOO_LARGE,
                   "%s: file exceeds the %d byte limit", path, DISCO_RELOAD_CONFIG_MAX_BYTES);
      return NULL;
    }
  if (!g_file_get_contents (path, &data, &len, &local))
    {
      g_set_error (error, DISCO_RELOAD_CONFIG_ERROR, DISCO_RELOAD_CONFIG_ERROR_IO, "%s",
                   local->message);
      return NULL;
    }
  return disco_reload_config_parse (data, len, instance_name, path, error);
}
