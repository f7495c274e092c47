/* reload-access.c: access control policies. */
#define G_LOG_DOMAIN "disco-reload-storage"

#include "reload-access.h"

#include <regex.h>
#include <string.h>

#include <openssl/sha.h>

DiscoReloadAclEntry *
disco_reload_acl_entry_new (guint32 index, const DiscoReloadAclItem *item_steal,
                            const char *signer_user)
{
  DiscoReloadAclEntry *e = g_new0 (DiscoReloadAclEntry, 1);

  e->index = index;
  e->item = *item_steal;
  e->signer_user = g_strdup (signer_user ? signer_user : "");
  return e;
}

void
disco_reload_acl_entry_free (DiscoReloadAclEntry *e)
{
  if (e == NULL)
    return;
  disco_reload_acl_item_clear (&e->item);
  g_free (e->signer_user);
  g_free (e);
}

static gboolean forbid (GError **error, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static gboolean
forbid (GError **error, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error_literal (error, DISCO_RELOAD_USAGE_ERROR, DISCO_RELOAD_USAGE_ERROR_FORBIDDEN, msg);
  return FALSE;
}

/* CHORD-RELOAD overlay hash: SHA-1 truncated to the Resource-ID length. */
static gboolean
hash_matches (const DiscoReloadResourceId *rid, const guint8 *data, gsize len)
{
  guint8 md[SHA_DIGEST_LENGTH];

  if (rid->len == 0 || rid->len > SHA_DIGEST_LENGTH)
    return FALSE;
  SHA1 (data, len, md);
  return memcmp (md, rid->id, rid->len) == 0;
}

static gboolean
name_hashes (const DiscoReloadResourceId *rid, const char *name)
{
  return name != NULL && hash_matches (rid, (const guint8 *)name, strlen (name));
}

/* POSIX ERE special characters, escaped so a user name is matched literally. */
static char *
ere_escape (const char *s, gsize n)
{
  GString *out = g_string_sized_new (n * 2);

  for (gsize i = 0; i < n; i++)
    {
      if (strchr ("\\^$.[]|()*+?{}", s[i]))
        g_string_append_c (out, '\\');
      g_string_append_c (out, s[i]);
    }
  return g_string_free (out, FALSE);
}

/* RFC 8076 §5.1: $USER / $DOMAIN are the left / right of the signer's user
 * name; a pattern lacking either is invalid and allows nothing. */
static gboolean
pattern_matches (const char *pattern, const char *user, const char *name)
{
  const char *at = strrchr (user, '@');
  g_autofree char *u = NULL, *d = NULL, *re_text = NULL;
  g_auto (GStrv) parts = NULL;
  GString *expanded;
  regex_t re;
  gboolean ok;

  if (at == NULL || strstr (pattern, "$USER") == NULL || strstr (pattern, "$DOMAIN") == NULL)
    return FALSE;
  u = ere_escape (user, (gsize)(at - user));
  d = ere_escape (at + 1, strlen (at + 1));
  expanded = g_string_new ("^(");
  for (const char *p = pattern; *p;)
    {
      if (g_str_has_prefix (p, "$USER"))
        g_string_append (expanded, u), p += 5;
      else if (g_str_has_prefix (p, "$DOMAIN"))
        g_string_append (expanded, d), p += 7;
      else
        g_string_append_c (expanded, *p++);
    }
  g_string_append (expanded, ")$");
  re_text = g_string_free (expanded, FALSE);
  if (regcomp (&re, re_text, REG_EXTENDED | REG_NOSUB) != 0)
    return FALSE;
  ok = regexec (&re, name, 0, NULL, 0) == 0;
  regfree (&re);
  return ok;
}

gboolean
disco_reload_access_is_owner (const DiscoReloadAccessContext *ctx, const char *user,
                              const char *name)
{
  if (user == NULL || user[0] == '\0')
    return FALSE;
  /* Compared as binary strings (RFC 8076 §6.3). */
  if (name_hashes (ctx->resource, user))
    return TRUE;
  if (name == NULL || !ctx->kind->variable_names || !name_hashes (ctx->resource, name))
    return FALSE;
  for (char **p = ctx->kind->patterns; p && *p; p++)
    if (pattern_matches (*p, user, name))
      return TRUE;
  return FALSE;
}

char *
disco_reload_access_value_resource_name (const DiscoReloadKindConfig *kind, GBytes *value)
{
  char *name = NULL;
  gsize used = 0, len = 0;
  const guint8 *data;

  if (!kind->variable_names || value == NULL)
    return NULL;
  data = g_bytes_get_data (value, &len);
  if (!disco_reload_resource_name_ext_decode (data, len, &name, &used, NULL))
    return NULL;
  return name;
}

/* ---- chain walk ---------------------------------------------------------- */

typedef struct
{
  const DiscoReloadAccessContext *ctx;
  DiscoReloadKindId kind;
  const char *name;
  guint steps;
  GHashTable *on_path; /* users on the current path: loop guard */
} Walk;

static gboolean
walk (Walk *w, const char *user, gboolean need_ad, guint depth)
{
  if (depth > DISCO_RELOAD_ACL_MAX_DEPTH || w->ctx->acl == NULL)
    return FALSE;
  for (guint i = 0; i < w->ctx->acl->len; i++)
    {
      const DiscoReloadAclEntry *e = g_ptr_array_index (w->ctx->acl, i);
      gboolean ok;

      if (++w->steps > DISCO_RELOAD_ACL_MAX_STEPS)
        return FALSE;
      if (e->item.kind != w->kind || strcmp (e->item.to_user, user) != 0
          || (need_ad && !e->item.allow_delegation))
        continue;
      if (strcmp (e->item.to_user, e->signer_user) == 0)
        {
          /* A root item: only the Resource Owner can have written it. */
          if (disco_reload_access_is_owner (w->ctx, e->signer_user,
                                            w->name ? w->name : e->item.resource_name))
            return TRUE;
          continue;
        }
      if (g_hash_table_contains (w->on_path, e->signer_user))
        continue;
      g_hash_table_add (w->on_path, e->signer_user);
      ok = walk (w, e->signer_user, TRUE, depth + 1);
      g_hash_table_remove (w->on_path, e->signer_user);
      if (ok)
        return TRUE;
    }
  return FALSE;
}

gboolean
disco_reload_access_chain_valid (const DiscoReloadAccessContext *ctx, const char *user,
                                 DiscoReloadKindId kind, gboolean need_delegation, const char *name)
{
  Walk w = { ctx, kind, name, 0, g_hash_table_new (g_str_hash, g_str_equal) };
  gboolean ok;

  if (user == NULL)
    return FALSE;
  g_hash_table_add (w.on_path, (gpointer)user);
  ok = walk (&w, user, need_delegation, 0);
  g_hash_table_unref (w.on_path);
  return ok;
}

/* ---- policies ---------------------------------------------------------------- */

static gboolean
key_is_node (const DiscoReloadStoredDataValue *v, const DiscoReloadNodeId *node)
{
  gsize n = 0;
  const guint8 *k = v->key ? g_bytes_get_data (v->key, &n) : NULL;

  return n == sizeof node->id && memcmp (k, node->id, n) == 0;
}

static gboolean
same_user (const char *a, const char *b)
{
  return a != NULL && b != NULL && strcmp (a, b) == 0;
}

/* RFC 8076 §3.1 isolation: a writer only creates entries at its own key /
 * index range; existing entries are overwritten by their writer only. */
static gboolean
isolation_ok (const DiscoReloadAccessContext *ctx, const DiscoReloadAccessRequest *req,
              GError **error)
{
  const DiscoReloadStoredDataValue *v = req->value;

  if (req->replaces && !same_user (req->prev_signer_user, req->signer_user))
    return forbid (error, "entry belongs to %s",
                   req->prev_signer_user ? req->prev_signer_user : "?");
  if (v->model == DISCO_RELOAD_DATA_MODEL_DICTIONARY && !key_is_node (v, req->signer_node))
    return forbid (error, "dictionary key must be the signer's Node-ID");
  if (v->model == DISCO_RELOAD_DATA_MODEL_ARRAY)
    {
      if (v->index == DISCO_RELOAD_ARRAY_APPEND)
        return forbid (error, "shared arrays take no appends (index must follow isolation)");
      if ((v->index >> 8) != (disco_reload_share_array_index (req->signer_node, 0) >> 8))
        return forbid (error, "array index 0x%08x is outside the signer's range", v->index);
    }
  return TRUE;
}

/* THE pinned RFC 8076 §6.6 interpretation.  Read literally, §6.6 requires
 * USER-MATCH / USER-NODE-MATCH of the *signer*, which would bar every
 * delegated writer.  We implement the evident intent:
 *
 *   - the signer is the Resource Owner (its user name hashes to the
 *     Resource-ID, or the value's ResourceNameExtension hashes to it and
 *     matches a configured pattern with the signer's $USER/$DOMAIN): allowed,
 *     subject to isolation (its own key / index range) except that the owner
 *     may overwrite any entry (to remove malicious data, §6.2);
 *   - anyone else: allowed iff the ACL chain from the signer validates to a
 *     root item signed by the Resource Owner, where "owner" is judged against
 *     the resource name in the value being written (§6.3), and the write
 *     respects isolation.  Writing an ACL item additionally needs
 *     allow_delegation on the granting item; a root item (to_user = its own
 *     signer) can only come from the owner.
 *
 * Every value of a kind with variable names must carry a
 * ResourceNameExtension whose name hashes to the Resource-ID.  Deletions
 * (exists = false) carry no value; they are judged with the replaced value's
 * name. */
static gboolean
access_user_chain_acl (const DiscoReloadAccessContext *ctx, const DiscoReloadAccessRequest *req,
                       GError **error)
{
  const DiscoReloadStoredDataValue *v = req->value;
  const char *user = req->signer_user;
  g_autofree char *own_name = NULL;
  const char *name;
  gboolean is_acl = ctx->kind->id == DISCO_RELOAD_KIND_ACCESS_CONTROL_LIST;
  DiscoReloadAclItem item = { 0 };
  gboolean owner, ok;
  DiscoReloadKindId granted_kind = ctx->kind->id;
  gboolean need_ad = FALSE;

  if (user == NULL)
    return forbid (error, "signer certificate has no user name");

  if (v->exists && ctx->kind->variable_names)
    {
      own_name = disco_reload_access_value_resource_name (ctx->kind, v->value);
      if (own_name == NULL)
        return forbid (error, "value lacks its ResourceNameExtension");
      if (!name_hashes (ctx->resource, own_name))
        return forbid (error, "resource name \"%s\" does not hash to the Resource-ID", own_name);
    }
  name = own_name ? own_name : req->prev_resource_name;
  owner = disco_reload_access_is_owner (ctx, user, name);

  if (is_acl && v->exists)
    {
      gsize len = 0;
      const guint8 *data = v->value ? g_bytes_get_data (v->value, &len) : NULL;
      g_autoptr (GError) local = NULL;
      const DiscoReloadKindConfig *shared;

      if (!disco_reload_acl_item_decode (data, len, ctx->kind->variable_names, &item, &local))
        return forbid (error, "bad AccessControlListItem: %s", local->message);
      granted_kind = item.kind;
      shared = disco_reload_config_find_kind (ctx->config, item.kind);
      if (shared == NULL || shared->access != DISCO_RELOAD_ACCESS_USER_CHAIN_ACL)
        {
          disco_reload_acl_item_clear (&item);
          return forbid (error, "ACL item for kind %u, which is not a USER-CHAIN-ACL kind",
                         granted_kind);
        }
      if (strcmp (item.to_user, user) == 0 && !owner)
        {
          disco_reload_acl_item_clear (&item);
          return forbid (error, "only the Resource Owner may write a root item");
        }
      disco_reload_acl_item_clear (&item);
      need_ad = TRUE;
    }

  if (owner)
    {
      /* The owner keeps to its own range for new entries but may overwrite
       * (or delete) anybody's. */
      if (req->replaces)
        return TRUE;
      return isolation_ok (ctx, req, error);
    }

  if (!isolation_ok (ctx, req, error))
    return FALSE;
  if (!v->exists && req->replaces)
    /* Deleting one's own entry needs no grant: that is how a writer leaves
     * (and a revoked writer can still clean up).  Deletion markers where
     * nothing was are writes like any other. */
    return TRUE;
  ok = disco_reload_access_chain_valid (ctx, user, granted_kind, need_ad, name);
  if (!ok)
    return forbid (error, "no valid ACL delegation chain from %s for kind %u%s", user, granted_kind,
                   need_ad ? " with allow_delegation" : "");
  return TRUE;
}

/* The same interpretation as access_user_chain_acl(), for a value that was
 * accepted earlier: owner, or a chain that still validates. */
gboolean
disco_reload_access_still_valid (const DiscoReloadAccessContext *ctx,
                                 const DiscoReloadStoredDataValue *value, const char *user)
{
  g_autofree char *name = NULL;
  DiscoReloadAclItem item;
  gsize len = 0;
  const guint8 *data;
  gboolean ok;

  if (!value->exists)
    return TRUE;
  name = disco_reload_access_value_resource_name (ctx->kind, value->value);
  if (disco_reload_access_is_owner (ctx, user, name))
    return TRUE;
  if (ctx->kind->id != DISCO_RELOAD_KIND_ACCESS_CONTROL_LIST)
    return disco_reload_access_chain_valid (ctx, user, ctx->kind->id, FALSE, name);
  data = value->value ? g_bytes_get_data (value->value, &len) : NULL;
  if (!disco_reload_acl_item_decode (data, len, ctx->kind->variable_names, &item, NULL))
    return FALSE;
  /* A root item not written by the owner never was valid. */
  ok = g_strcmp0 (item.to_user, user) != 0
       && disco_reload_access_chain_valid (ctx, user, item.kind, TRUE, name);
  disco_reload_acl_item_clear (&item);
  return ok;
}

static gboolean
node_multiple_ok (const DiscoReloadAccessContext *ctx, const DiscoReloadNodeId *node)
{
  guint8 buf[DISCO_RELOAD_NODE_ID_LENGTH + 1];

  memcpy (buf, node->id, sizeof node->id);
  /* The iteration is not on the wire; one byte wide like TurnServer.iteration. */
  for (guint i = 1; i <= ctx->kind->max_node_multiple && i <= 255; i++)
    {
      buf[sizeof node->id] = (guint8)i;
      if (hash_matches (ctx->resource, buf, sizeof buf))
        return TRUE;
    }
  return FALSE;
}

gboolean
disco_reload_access_check (const DiscoReloadAccessContext *ctx, const DiscoReloadAccessRequest *req,
                           GError **error)
{
  const DiscoReloadNodeId *node = req->signer_node;

  switch (ctx->kind->access)
    {
      case DISCO_RELOAD_ACCESS_USER_MATCH:
        if (!name_hashes (ctx->resource, req->signer_user))
          return forbid (error, "USER-MATCH: user name does not hash to the Resource-ID");
        return TRUE;
      case DISCO_RELOAD_ACCESS_NODE_MATCH:
        if (!hash_matches (ctx->resource, node->id, sizeof node->id))
          return forbid (error, "NODE-MATCH: Node-ID does not hash to the Resource-ID");
        return TRUE;
      case DISCO_RELOAD_ACCESS_USER_NODE_MATCH:
        if (req->value->model != DISCO_RELOAD_DATA_MODEL_DICTIONARY)
          return forbid (error, "USER-NODE-MATCH applies to dictionaries only");
        if (!name_hashes (ctx->resource, req->signer_user))
          return forbid (error, "USER-NODE-MATCH: user name does not hash to the Resource-ID");
        if (!key_is_node (req->value, node))
          return forbid (error, "USER-NODE-MATCH: dictionary key is not the signer's Node-ID");
        return TRUE;
      case DISCO_RELOAD_ACCESS_NODE_MULTIPLE:
        if (!node_multiple_ok (ctx, node))
          return forbid (error, "NODE-MULTIPLE: no H(Node-ID || i) matches the Resource-ID");
        return TRUE;
      case DISCO_RELOAD_ACCESS_USER_CHAIN_ACL:
        return access_user_chain_acl (ctx, req, error);
      case DISCO_RELOAD_ACCESS_NODE_ID_MATCH:
      case DISCO_RELOAD_ACCESS_UNKNOWN:
        break;
    }
  return forbid (error, "access policy %s is not supported by this peer",
                 ctx->kind->access_name ? ctx->kind->access_name : "?");
}
