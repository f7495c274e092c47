/* reload-node-storage.c: Store/Fetch/Stat/Find handed to the storage
 * module (which verifies data signatures and applies access control). */
#define G_LOG_DOMAIN "disco-node"

#include "reload-node-private.h"
#include "reload-usages.h"

#include <string.h>

/* Turns a storage ErrorResponse into an Error answer (moving its fields). */
static DiscoReloadMessage *
error_answer (DiscoReloadErrorResponse *err)
{
  DiscoReloadMessage *ans = disco_reload_message_new (DISCO_RELOAD_ERROR);
  g_clear_pointer (&ans->body.error.error_info, g_bytes_unref);
  ans->body.error = *err;
  memset (err, 0, sizeof *err);
  if (ans->body.error.error_code == 0)
    ans->body.error.error_code = DISCO_RELOAD_ERROR_INVALID_MESSAGE;
  return ans;
}

DiscoReloadMessage *
disco_reload_node_handle_storage (DiscoReloadNode *node, const DiscoReloadMessage *request,
                                  const DiscoReloadSigner *signer, DiscoReloadLink *link,
                                  GError **error)
{
  /* The storage module may resolve undecoded values in place; the request
   * is ours (decoded for this delivery only). */
  DiscoReloadMessage *req = (DiscoReloadMessage *)request;
  DiscoReloadErrorResponse err = { 0 };
  g_autoptr (DiscoReloadMessage) ans = disco_reload_message_new (req->message_code + 1);
  gboolean ok = FALSE;

  if (node->storage == NULL)
    {
      g_set_error (error, DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_ERROR_NOT_FOUND,
                   "this node stores no data");
      return NULL;
    }
  switch (req->message_code)
    {
      case DISCO_RELOAD_STORE_REQ:
        {
          g_autoptr (DiscoReloadCertPool) pool = disco_reload_cert_pool_new ();
          disco_reload_cert_pool_add_security_block (pool, &req->security);
          ok = disco_reload_storage_store (node->storage, &req->body.store_req, pool, signer,
                                           &ans->body.store_ans, &err);
          break;
        }
      case DISCO_RELOAD_FETCH_REQ:
        ok = disco_reload_storage_fetch (node->storage, &req->body.fetch_req, &ans->body.fetch_ans,
                                         ans->security.certificates, &err);
        break;
      case DISCO_RELOAD_STAT_REQ:
        ok = disco_reload_storage_stat (node->storage, &req->body.fetch_req, &ans->body.stat_ans,
                                        &err);
        break;
      case DISCO_RELOAD_FIND_REQ:
        ok = disco_reload_storage_find (node->storage, &req->body.find_req, &ans->body.find_ans,
                                        &err);
        break;
      default:
        g_set_error (error, DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_ERROR_INVALID_MESSAGE,
                     "not a storage method");
        return NULL;
    }
  if (!ok)
    {
      g_debug ("%s refused: %s", disco_reload_message_code_name (req->message_code),
               disco_reload_error_code_name (err.error_code));
      return error_answer (&err);
    }
  return g_steal_pointer (&ans);
}

static void
count_resource (const DiscoReloadResourceId *resource, DiscoReloadStoreKindData *kd, gpointer data)
{
  GHashTable *seen = data;
  g_hash_table_add (seen, g_bytes_new (resource->id, resource->len));
}

void
disco_reload_node_storage_stats (DiscoReloadNode *node, DiscoReloadNodeStats *stats)
{
  stats->resources = 0;
  stats->values = 0;
  if (node->storage == NULL)
    return;
  g_autoptr (GHashTable) seen
      = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref, NULL);
  disco_reload_storage_foreach (node->storage, count_resource, seen);
  stats->resources = g_hash_table_size (seen);
  stats->values = disco_reload_storage_count (node->storage);
}

gboolean
disco_reload_node_sign_stored_data (DiscoReloadNode *node, const DiscoReloadResourceId *resource,
                                    DiscoReloadKindId kind, DiscoReloadStoredData *sd,
                                    GError **error)
{
  return disco_reload_sign_stored_data (node->identity, NULL, resource, kind, sd, error);
}

gboolean
disco_reload_node_verify_stored_data (DiscoReloadNode *node, const DiscoReloadMessage *answer,
                                      const DiscoReloadResourceId *resource, DiscoReloadKindId kind,
                                      const DiscoReloadStoredData *sd, DiscoReloadSigner *signer,
                                      GError **error)
{
  g_autoptr (DiscoReloadCertPool) pool = disco_reload_cert_pool_new ();
  disco_reload_cert_pool_add_security_block (pool, &answer->security);
  disco_reload_cert_pool_set_fallback (pool, node->cert_cache);
  return disco_reload_verify_stored_data (disco_reload_node_get_trust (node), pool, resource, kind,
                                          sd, signer, error);
}

/* Bounds what a client remembers; certificates are re-fetched when needed. */
#define CERT_CACHE_MAX 1024

void
disco_reload_node_cache_fetched_certs (DiscoReloadNode *node, const DiscoReloadFetchAns *ans)
{
  if (disco_reload_cert_pool_size (node->cert_cache) >= CERT_CACHE_MAX)
    disco_reload_cert_pool_clear (node->cert_cache);
  /* Unverified here on purpose: a certificate only ever resolves a signer
   * identity, and is checked against the trust anchors when it does. */
  disco_reload_cert_pool_add_fetch_ans (node->cert_cache, ans);
}
