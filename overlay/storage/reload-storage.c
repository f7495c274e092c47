/* reload-storage.c: Store / Fetch / Stat / Find semantics (RFC 6940 §7.4). */
#define G_LOG_DOMAIN "disco-reload-storage"

#include "reload-storage.h"
#include "reload-access.h"
#include "reload-usages.h"

#include <string.h>

struct _DiscoReloadStorage
{
  DiscoReloadConfig *config;
  DiscoReloadTrust *trust;
  const DiscoReloadStorageBackend *backend;
  gpointer be;
  DiscoReloadStorageClock clock;
  gpointer clock_data;
  /* Certificates of stored values: resolves signer identities of Stores
   * whose message does not repeat the certificate.  Refilled by expire()
   * (the pointer stays: it is another pool's fallback). */
  DiscoReloadCertPool *known;
  /* The certificates stored as CERTIFICATE_BY_NODE / _BY_USER values
   * (RFC 6940 §8), falling back to known; rebuilt lazily when dirty. */
  DiscoReloadCertPool *cert_kinds;
  gboolean cert_kinds_dirty;
};

DiscoReloadDataModel
disco_reload_config_kind_model (DiscoReloadKindId kind, gpointer user_data)
{
  const DiscoReloadKindConfig *k = disco_reload_config_find_kind (user_data, kind);

  return k ? k->data_model : DISCO_RELOAD_DATA_MODEL_UNKNOWN;
}

DiscoReloadStorage *
disco_reload_storage_new (DiscoReloadConfig *config, DiscoReloadTrust *trust,
                          const DiscoReloadStorageBackend *backend, gpointer backend_config)
{
  DiscoReloadStorage *s = g_new0 (DiscoReloadStorage, 1);

  s->config = disco_reload_config_ref (config);
  s->trust = trust;
  s->backend = backend ? backend : disco_reload_storage_memory_backend ();
  s->be = s->backend->open (backend_config);
  s->known = disco_reload_cert_pool_new ();
  s->cert_kinds = disco_reload_cert_pool_new ();
  disco_reload_cert_pool_set_fallback (s->cert_kinds, s->known);
  return s;
}

void
disco_reload_storage_free (DiscoReloadStorage *s)
{
  if (s == NULL)
    return;
  s->backend->close (s->be);
  disco_reload_cert_pool_free (s->cert_kinds);
  disco_reload_cert_pool_free (s->known);
  disco_reload_config_unref (s->config);
  g_free (s);
}

void
disco_reload_storage_set_clock (DiscoReloadStorage *s, DiscoReloadStorageClock clock,
                                gpointer user_data)
{
  s->clock = clock;
  s->clock_data = user_data;
}

gint64
disco_reload_storage_now_ms (DiscoReloadStorage *s)
{
  return s->clock ? s->clock (s->clock_data) : g_get_real_time () / 1000;
}

void
disco_reload_storage_set_config (DiscoReloadStorage *s, DiscoReloadConfig *config)
{
  DiscoReloadConfig *old = s->config;

  s->config = disco_reload_config_ref (config);
  disco_reload_config_unref (old);
}

/* ---- small helpers ------------------------------------------------------- */

/* A new StoredData sharing @sd's bytes (GBytes are immutable), for the
 * fields that are not signed and may differ: lifetime, array index. */
static DiscoReloadStoredData *
stored_data_copy (const DiscoReloadStoredData *sd)
{
  DiscoReloadStoredData *copy = disco_reload_stored_data_new (sd->value.model);

  copy->storage_time = sd->storage_time;
  copy->lifetime = sd->lifetime;
  copy->value.index = sd->value.index;
  copy->value.key = sd->value.key ? g_bytes_ref (sd->value.key) : NULL;
  copy->value.exists = sd->value.exists;
  copy->value.value = sd->value.value ? g_bytes_ref (sd->value.value) : NULL;
  disco_reload_signature_clear (&copy->signature);
  disco_reload_signature_copy (&sd->signature, &copy->signature);
  return copy;
}

G_GNUC_PRINTF (3, 4)
static gboolean
fail (DiscoReloadErrorResponse *err, guint16 code, const char *fmt, ...)
{
  va_list ap;
  char *msg;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_debug ("refusing: %s", msg);
  err->error_code = code;
  g_clear_pointer (&err->error_info, g_bytes_unref);
  err->error_info = g_bytes_new_take (msg, strlen (msg));
  return FALSE;
}

static gboolean
entry_live (const DiscoReloadStorageEntry *e, gint64 now)
{
  return e != NULL && now < e->expires_ms;
}

static gboolean
is_cert_kind (DiscoReloadKindId kind)
{
  return kind == DISCO_RELOAD_KIND_CERTIFICATE_BY_NODE
         || kind == DISCO_RELOAD_KIND_CERTIFICATE_BY_USER;
}

typedef struct
{
  DiscoReloadCertPool *pool;
  gint64 now;
} CertCollect;

static void
collect_cert (DiscoReloadStorageEntry *e, CertCollect *c)
{
  g_autoptr (DiscoReloadCert) cert = NULL;
  gsize n = 0;
  const guint8 *der;

  if (!entry_live (e, c->now) || !e->sd->value.exists || e->sd->value.value == NULL)
    return;
  der = g_bytes_get_data (e->sd->value.value, &n);
  cert = disco_reload_cert_new_from_der (der, n, NULL);
  if (cert)
    disco_reload_cert_pool_add (c->pool, cert);
}

static gboolean
collect_tree_cert (gpointer key, gpointer value, gpointer data)
{
  collect_cert (value, data);
  return FALSE;
}

static gboolean
collect_slot_certs (DiscoReloadStorageSlot *slot, gpointer data)
{
  if (!is_cert_kind (slot->kind))
    return TRUE;
  if (slot->single)
    collect_cert (slot->single, data);
  if (slot->entries)
    g_tree_foreach (slot->entries, collect_tree_cert, data);
  return TRUE;
}

const DiscoReloadCertPool *
disco_reload_storage_get_certificates (DiscoReloadStorage *s)
{
  if (s->cert_kinds_dirty)
    {
      CertCollect c = { s->cert_kinds, disco_reload_storage_now_ms (s) };

      disco_reload_cert_pool_clear (s->cert_kinds);
      s->backend->foreach (s->be, collect_slot_certs, &c);
      s->cert_kinds_dirty = FALSE;
    }
  return s->cert_kinds;
}

static DiscoReloadStorageEntry *
slot_get (DiscoReloadStorageSlot *slot, const DiscoReloadStoredDataValue *v)
{
  if (slot == NULL)
    return NULL;
  switch (slot->model)
    {
      case DISCO_RELOAD_DATA_MODEL_SINGLE:
        return slot->single;
      case DISCO_RELOAD_DATA_MODEL_ARRAY:
        return g_tree_lookup (slot->entries, GUINT_TO_POINTER (v->index));
      case DISCO_RELOAD_DATA_MODEL_DICTIONARY:
        return v->key ? g_tree_lookup (slot->entries, v->key) : NULL;
      default:
        return NULL;
    }
}

typedef struct
{
  gint64 now;
  guint n;
  guint32 max_index;
  gboolean any;
  GPtrArray *list; /* optional: collects entries */
} CountData;

static gboolean
count_cb (gpointer key, gpointer value, gpointer data)
{
  CountData *c = data;
  DiscoReloadStorageEntry *e = value;

  if (entry_live (e, c->now))
    {
      if (e->sd->value.exists)
        c->n++;
      if (c->list)
        g_ptr_array_add (c->list, e);
    }
  c->max_index = GPOINTER_TO_UINT (key); /* ascending: the last one wins */
  c->any = TRUE;
  return FALSE;
}

/* Live entries of @slot (borrowed), in key/index order. */
static GPtrArray *
slot_live (DiscoReloadStorageSlot *slot, gint64 now)
{
  CountData c = { now, 0, 0, FALSE, g_ptr_array_new () };

  if (slot == NULL)
    return c.list;
  if (slot->model == DISCO_RELOAD_DATA_MODEL_SINGLE)
    {
      if (entry_live (slot->single, now))
        g_ptr_array_add (c.list, slot->single);
    }
  else if (slot->entries)
    g_tree_foreach (slot->entries, count_cb, &c);
  return c.list;
}

/* ---- ACL view ---------------------------------------------------------------- */

static const DiscoReloadKindConfig *
acl_kind (DiscoReloadStorage *s)
{
  return disco_reload_config_find_kind (s->config, DISCO_RELOAD_KIND_ACCESS_CONTROL_LIST);
}

static void
acl_view_put (GPtrArray *view, guint32 index, const DiscoReloadStoredData *sd, const char *signer,
              gboolean with_ext)
{
  DiscoReloadAclItem item;
  gsize len = 0;
  const guint8 *data;

  for (guint i = 0; i < view->len; i++)
    if (((DiscoReloadAclEntry *)g_ptr_array_index (view, i))->index == index)
      {
        g_ptr_array_remove_index (view, i);
        break;
      }
  if (!sd->value.exists || sd->value.value == NULL)
    return;
  data = g_bytes_get_data (sd->value.value, &len);
  if (disco_reload_acl_item_decode (data, len, with_ext, &item, NULL))
    g_ptr_array_add (view, disco_reload_acl_entry_new (index, &item, signer));
}

/* The current ACL at @resource: stored items, overridden by @pending. */
static GPtrArray *
acl_view (DiscoReloadStorage *s, const DiscoReloadResourceId *resource, GPtrArray *pending)
{
  GPtrArray *view = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_acl_entry_free);
  const DiscoReloadKindConfig *ak = acl_kind (s);
  DiscoReloadStorageSlot *slot;
  g_autoptr (GPtrArray) live = NULL;
  gboolean ext;

  if (ak == NULL)
    return view;
  ext = ak->variable_names;
  slot = s->backend->lookup (s->be, resource, DISCO_RELOAD_KIND_ACCESS_CONTROL_LIST);
  live = slot_live (slot, disco_reload_storage_now_ms (s));
  for (guint i = 0; i < live->len; i++)
    {
      DiscoReloadStorageEntry *e = g_ptr_array_index (live, i);
      acl_view_put (view, e->sd->value.index, e->sd, e->signer ? e->signer->user_name : NULL, ext);
    }
  return view;
}

/* ---- Store -------------------------------------------------------------------- */

typedef struct
{
  DiscoReloadStoreKindData *kd;
  const DiscoReloadKindConfig *kc;
  DiscoReloadStoredData *sd;
  DiscoReloadSigner signer;
  DiscoReloadStorageEntry *prev; /* live entry this replaces (borrowed) */
} Pending;

static void
pending_free (gpointer p)
{
  Pending *pe = p;

  disco_reload_signer_clear (&pe->signer);
  g_free (pe);
}

static gboolean
kind_value_check (DiscoReloadStorage *s, const Pending *pe, GError **error)
{
  gsize len = 0;
  const guint8 *data;

  if (!pe->sd->value.exists)
    return TRUE;
  data = pe->sd->value.value ? g_bytes_get_data (pe->sd->value.value, &len) : NULL;
  if (pe->kc->id == DISCO_RELOAD_KIND_SIP_REGISTRATION)
    return disco_reload_sip_registration_check (s->config, pe->kc, pe->signer.cert->user_name, data,
                                                len, error);
  if (pe->kc->id == DISCO_RELOAD_KIND_DISCO_REGISTRATION)
    {
      DiscoReloadDiscoRegistration reg;
      if (!disco_reload_disco_registration_decode (data, len, pe->kc->variable_names, &reg, error))
        return FALSE;
      disco_reload_disco_registration_clear (&reg);
    }
  if (pe->kc->id == DISCO_RELOAD_KIND_CERTIFICATE_BY_NODE
      || pe->kc->id == DISCO_RELOAD_KIND_CERTIFICATE_BY_USER)
    {
      g_autoptr (DiscoReloadCert) c = NULL;
      g_autoptr (GError) local = NULL;

      c = disco_reload_cert_new_from_der (data, len, &local);
      if (c == NULL)
        {
          g_set_error (error, DISCO_RELOAD_USAGE_ERROR, DISCO_RELOAD_USAGE_ERROR_MALFORMED,
                       "certificate value: %s", local->message);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
access_ok (DiscoReloadStorage *s, const DiscoReloadResourceId *resource, GPtrArray *view,
           const Pending *pe, const DiscoReloadCert *cert, const DiscoReloadNodeId *node,
           GError **error)
{
  DiscoReloadAccessContext ctx = { s->config, pe->kc, resource, view };
  g_autofree char *prev_name = NULL;
  DiscoReloadAccessRequest req = { 0 };

  req.value = &pe->sd->value;
  req.signer_user = cert->user_name;
  req.signer_node = node;
  if (pe->prev)
    {
      req.replaces = TRUE;
      req.prev_signer_user = pe->prev->signer ? pe->prev->signer->user_name : NULL;
      req.prev_signer_node = &pe->prev->signer_node;
      prev_name = disco_reload_access_value_resource_name (pe->kc, pe->prev->sd->value.value);
      req.prev_resource_name = prev_name;
    }
  return disco_reload_access_check (&ctx, &req, error);
}

static void
fill_counters (DiscoReloadStorage *s, const DiscoReloadStoreReq *req, DiscoReloadStoreAns *ans)
{
  for (guint i = 0; i < req->kind_data->len; i++)
    {
      DiscoReloadStoreKindData *kd = g_ptr_array_index (req->kind_data, i);
      DiscoReloadStorageSlot *slot = s->backend->lookup (s->be, &req->resource, kd->kind);
      g_ptr_array_add (ans->kind_responses, disco_reload_store_kind_response_new (
                                                kd->kind, slot ? slot->generation : 0));
    }
}

static gboolean
value_key_equal (const DiscoReloadStoredDataValue *a, const DiscoReloadStoredDataValue *b)
{
  switch (a->model)
    {
      case DISCO_RELOAD_DATA_MODEL_SINGLE:
        return TRUE;
      case DISCO_RELOAD_DATA_MODEL_ARRAY:
        return a->index != DISCO_RELOAD_ARRAY_APPEND && a->index == b->index;
      case DISCO_RELOAD_DATA_MODEL_DICTIONARY:
        return a->key && b->key && g_bytes_equal (a->key, b->key);
      default:
        return FALSE;
    }
}

gboolean
disco_reload_storage_store (DiscoReloadStorage *s, DiscoReloadStoreReq *req,
                            const DiscoReloadCertPool *certs,
                            const DiscoReloadSigner *request_signer, DiscoReloadStoreAns *ans,
                            DiscoReloadErrorResponse *err)
{
  gint64 now = disco_reload_storage_now_ms (s);
  gboolean original = req->replica_number == 0;
  g_autoptr (GPtrArray) pending = g_ptr_array_new_with_free_func (pending_free);
  g_autoptr (GArray) unknown = g_array_new (FALSE, FALSE, sizeof (DiscoReloadKindId));
  g_autoptr (DiscoReloadCertPool) pool = disco_reload_cert_pool_new ();
  g_autoptr (GPtrArray) view = NULL;
  g_autoptr (GHashTable) seen = g_hash_table_new (NULL, NULL);
  gboolean need_acl = FALSE;

  if (req->resource.len == 0 || req->kind_data == NULL)
    return fail (err, DISCO_RELOAD_ERROR_INVALID_MESSAGE, "StoreReq without resource");

  /* 1. Kinds known, each at most once. */
  for (guint i = 0; i < req->kind_data->len; i++)
    {
      DiscoReloadStoreKindData *kd = g_ptr_array_index (req->kind_data, i);
      if (g_hash_table_contains (seen, GUINT_TO_POINTER (kd->kind)))
        return fail (err, DISCO_RELOAD_ERROR_INVALID_MESSAGE, "kind %u appears twice", kd->kind);
      g_hash_table_add (seen, GUINT_TO_POINTER (kd->kind));
      if (disco_reload_config_find_kind (s->config, kd->kind) == NULL)
        g_array_append_val (unknown, kd->kind);
    }
  if (unknown->len > 0)
    {
      err->unknown_kinds = g_steal_pointer (&unknown);
      return fail (err, DISCO_RELOAD_ERROR_UNKNOWN_KIND, "unknown kind(s) in StoreReq");
    }

  if (certs)
    {
      GPtrArray *list = disco_reload_cert_pool_list (certs);
      for (guint i = 0; i < list->len; i++)
        disco_reload_cert_pool_add (pool, g_ptr_array_index (list, i));
    }
  disco_reload_cert_pool_set_fallback (pool, disco_reload_storage_get_certificates (s));

  /* 2. Every value: right model, signed, signature and certificate valid. */
  for (guint i = 0; i < req->kind_data->len; i++)
    {
      DiscoReloadStoreKindData *kd = g_ptr_array_index (req->kind_data, i);
      const DiscoReloadKindConfig *kc = disco_reload_config_find_kind (s->config, kd->kind);
      DiscoReloadStorageSlot *slot = s->backend->lookup (s->be, &req->resource, kd->kind);

      if (!original && kd->generation_counter == 0)
        return fail (err, DISCO_RELOAD_ERROR_INVALID_MESSAGE, "replica store with generation 0");
      if (kc->access == DISCO_RELOAD_ACCESS_USER_CHAIN_ACL)
        need_acl = TRUE;
      for (guint j = 0; kd->values && j < kd->values->len; j++)
        {
          DiscoReloadStoredData *sd = g_ptr_array_index (kd->values, j);
          g_autoptr (GError) local = NULL;
          Pending *pe;

          if (sd->value.model == DISCO_RELOAD_DATA_MODEL_UNKNOWN && sd->undecoded
              && !disco_reload_stored_data_resolve (sd, kc->data_model, &local))
            return fail (err, DISCO_RELOAD_ERROR_INVALID_MESSAGE, "kind %u value: %s", kd->kind,
                         local->message);
          if (sd->value.model != kc->data_model)
            return fail (err, DISCO_RELOAD_ERROR_INVALID_MESSAGE,
                         "kind %u value is not in the %s data model", kd->kind,
                         disco_reload_data_model_to_string (kc->data_model));
          if (sd->value.model == DISCO_RELOAD_DATA_MODEL_DICTIONARY && sd->value.key == NULL)
            return fail (err, DISCO_RELOAD_ERROR_INVALID_MESSAGE, "dictionary value without key");
          if (sd->signature.identity.type == DISCO_RELOAD_SIGNER_IDENTITY_NONE
              || (sd->signature.hash_alg == 0 && sd->signature.sig_alg == 0))
            return fail (err, DISCO_RELOAD_ERROR_FORBIDDEN, "unsigned value for kind %u", kd->kind);
          pe = g_new0 (Pending, 1);
          g_ptr_array_add (pending, pe);
          pe->kd = kd;
          pe->kc = kc;
          pe->sd = sd;
          if (!disco_reload_verify_stored_data (s->trust, pool, &req->resource, kd->kind, sd,
                                                &pe->signer, &local))
            return fail (err, DISCO_RELOAD_ERROR_FORBIDDEN, "kind %u value signature: %s", kd->kind,
                         local->message);
          pe->prev = slot_get (slot, &sd->value);
          if (!entry_live (pe->prev, now))
            pe->prev = NULL;
          /* Two values for the same key in one request: the later one replaces the earlier. */
          for (guint k = 0; k + 1 < pending->len; k++)
            {
              Pending *other = g_ptr_array_index (pending, k);
              if (other->kd == kd && value_key_equal (&other->sd->value, &sd->value))
                return fail (err, DISCO_RELOAD_ERROR_INVALID_MESSAGE,
                             "kind %u: two values for the same entry", kd->kind);
            }
        }
    }

  /* 3. Access control, against the ACL as it will be after this request
   * (an owner's root item and its first data go in one StoreReq). */
  if (need_acl)
    {
      const DiscoReloadKindConfig *ak = acl_kind (s);
      view = acl_view (s, &req->resource, NULL);
      for (guint i = 0; ak && i < pending->len; i++)
        {
          Pending *pe = g_ptr_array_index (pending, i);
          if (pe->kd->kind == DISCO_RELOAD_KIND_ACCESS_CONTROL_LIST
              && pe->sd->value.index != DISCO_RELOAD_ARRAY_APPEND)
            acl_view_put (view, pe->sd->value.index, pe->sd, pe->signer.cert->user_name,
                          ak->variable_names);
        }
    }
  for (guint i = 0; i < pending->len; i++)
    {
      Pending *pe = g_ptr_array_index (pending, i);
      g_autoptr (GError) local = NULL;

      if (!access_ok (s, &req->resource, view, pe, pe->signer.cert, &pe->signer.node_id, &local))
        return fail (err, DISCO_RELOAD_ERROR_FORBIDDEN, "kind %u: %s", pe->kd->kind,
                     local->message);
      /* The StoreReq signer must be authorised too, for original stores. */
      if (original && request_signer
          && !access_ok (s, &req->resource, view, pe, request_signer->cert,
                         &request_signer->node_id, &local))
        return fail (err, DISCO_RELOAD_ERROR_FORBIDDEN, "kind %u (request signer): %s",
                     pe->kd->kind, local->message);
      if (!kind_value_check (s, pe, &local))
        return fail (err, DISCO_RELOAD_ERROR_FORBIDDEN, "kind %u: %s", pe->kd->kind,
                     local->message);
    }

  /* 4. Generation counters (original stores; 0 = don't care). */
  if (original)
    for (guint i = 0; i < req->kind_data->len; i++)
      {
        DiscoReloadStoreKindData *kd = g_ptr_array_index (req->kind_data, i);
        DiscoReloadStorageSlot *slot = s->backend->lookup (s->be, &req->resource, kd->kind);
        guint64 current = slot ? slot->generation : 0;

        if (kd->generation_counter != 0 && kd->generation_counter != current)
          {
            err->store_ans = g_new0 (DiscoReloadStoreAns, 1);
            disco_reload_store_ans_init (err->store_ans);
            fill_counters (s, req, err->store_ans);
            return fail (err, DISCO_RELOAD_ERROR_GENERATION_COUNTER_TOO_LOW,
                         "kind %u: generation %" G_GUINT64_FORMAT " but stored %" G_GUINT64_FORMAT,
                         kd->kind, kd->generation_counter, current);
          }
      }

  /* 5. Never replace a newer value with an older one. */
  for (guint i = 0; i < pending->len; i++)
    {
      Pending *pe = g_ptr_array_index (pending, i);
      if (pe->prev && pe->sd->storage_time < pe->prev->sd->storage_time)
        return fail (err, DISCO_RELOAD_ERROR_DATA_TOO_OLD,
                     "kind %u: storage_time %" G_GUINT64_FORMAT
                     " older than stored %" G_GUINT64_FORMAT,
                     pe->kd->kind, pe->sd->storage_time, pe->prev->sd->storage_time);
    }

  /* 6. Size and count limits (0 = unlimited). */
  for (guint i = 0; i < req->kind_data->len; i++)
    {
      DiscoReloadStoreKindData *kd = g_ptr_array_index (req->kind_data, i);
      const DiscoReloadKindConfig *kc = disco_reload_config_find_kind (s->config, kd->kind);
      DiscoReloadStorageSlot *slot = s->backend->lookup (s->be, &req->resource, kd->kind);
      g_autoptr (GPtrArray) live = NULL;
      guint count = 0, n_new = 0, stored;

      for (guint k = 0; k < pending->len; k++)
        {
          Pending *pe = g_ptr_array_index (pending, k);
          gsize len = pe->sd->value.value ? g_bytes_get_size (pe->sd->value.value) : 0;

          if (pe->kd != kd)
            continue;
          if (kc->max_size && len > kc->max_size)
            return fail (err, DISCO_RELOAD_ERROR_DATA_TOO_LARGE,
                         "kind %u: value of %" G_GSIZE_FORMAT " bytes exceeds max-size %u",
                         kd->kind, len, kc->max_size);
          if (pe->sd->value.exists)
            n_new++;
        }
      if (kc->max_count == 0)
        continue;
      /* Entries held (expired or not) bound the live count from above:
       * only count precisely when that bound is over the limit. */
      stored = slot == NULL    ? 0
               : slot->entries ? (guint)g_tree_nnodes (slot->entries)
                               : slot->single != NULL;
      if (stored + n_new <= kc->max_count)
        continue;
      live = slot_live (slot, now);
      for (guint j = 0; j < live->len; j++)
        {
          DiscoReloadStorageEntry *e = g_ptr_array_index (live, j);
          gboolean replaced = FALSE;
          for (guint k = 0; !replaced && k < pending->len; k++)
            {
              Pending *pe = g_ptr_array_index (pending, k);
              replaced = pe->kd == kd && pe->prev == e;
            }
          if (!replaced && e->sd->value.exists)
            count++;
        }
      count += n_new;
      if (count > kc->max_count)
        return fail (err, DISCO_RELOAD_ERROR_DATA_TOO_LARGE,
                     "kind %u: %u values exceed max-count %u", kd->kind, count, kc->max_count);
    }

  /* 7. Apply: nothing can fail from here on. */
  for (guint i = 0; i < req->kind_data->len; i++)
    {
      DiscoReloadStoreKindData *kd = g_ptr_array_index (req->kind_data, i);
      const DiscoReloadKindConfig *kc = disco_reload_config_find_kind (s->config, kd->kind);
      DiscoReloadStorageSlot *slot = s->backend->lookup (s->be, &req->resource, kd->kind);
      gboolean fresh = slot == NULL || slot->model != kc->data_model;

      if (fresh)
        slot = disco_reload_storage_slot_new (&req->resource, kd->kind, kc->data_model);
      for (guint k = 0; k < pending->len; k++)
        {
          Pending *pe = g_ptr_array_index (pending, k);
          DiscoReloadStorageEntry *e;
          gint64 expires;

          if (pe->kd != kd)
            continue;
          expires = now + (gint64)pe->sd->lifetime * 1000;
          disco_reload_cert_pool_add (s->known, pe->signer.cert);
          switch (slot->model)
            {
              case DISCO_RELOAD_DATA_MODEL_SINGLE:
                e = disco_reload_storage_entry_new (pe->sd, expires, pe->signer.cert,
                                                    &pe->signer.node_id);
                disco_reload_storage_entry_free (slot->single);
                slot->single = e;
                break;
              case DISCO_RELOAD_DATA_MODEL_ARRAY:
                if (pe->sd->value.index == DISCO_RELOAD_ARRAY_APPEND)
                  {
                    /* Keep the resolved index so Fetch reports where it went
                     * (the index is not covered by the signature). */
                    GTreeNode *last = g_tree_node_last (slot->entries);
                    g_autoptr (DiscoReloadStoredData) copy = stored_data_copy (pe->sd);

                    copy->value.index = last ? GPOINTER_TO_UINT (g_tree_node_key (last)) + 1 : 0;
                    e = disco_reload_storage_entry_new (copy, expires, pe->signer.cert,
                                                        &pe->signer.node_id);
                  }
                else
                  e = disco_reload_storage_entry_new (pe->sd, expires, pe->signer.cert,
                                                      &pe->signer.node_id);
                g_tree_replace (slot->entries, GUINT_TO_POINTER (e->sd->value.index), e);
                break;
              case DISCO_RELOAD_DATA_MODEL_DICTIONARY:
                e = disco_reload_storage_entry_new (pe->sd, expires, pe->signer.cert,
                                                    &pe->signer.node_id);
                g_tree_replace (slot->entries, g_bytes_ref (pe->sd->value.key), e);
                break;
              default:
                break;
            }
        }
      slot->generation = original ? slot->generation + 1 : kd->generation_counter;
      if (is_cert_kind (kd->kind))
        s->cert_kinds_dirty = TRUE;
      if (fresh)
        s->backend->insert (s->be, slot);
      else
        s->backend->changed (s->be, slot);
      g_ptr_array_add (ans->kind_responses,
                       disco_reload_store_kind_response_new (kd->kind, slot->generation));
    }
  return TRUE;
}

/* ---- Fetch / Stat ---------------------------------------------------------------- */

/* Does @e still pass the ShaRe chain with the current ACL?  (RFC 8076 §6.2:
 * revoking an item invalidates every delegation made through it.) */
static gboolean
still_authorized (DiscoReloadStorage *s, const DiscoReloadKindConfig *kc,
                  const DiscoReloadResourceId *resource, GPtrArray *view,
                  const DiscoReloadStorageEntry *e)
{
  DiscoReloadAccessContext ctx = { s->config, kc, resource, view };

  return disco_reload_access_still_valid (&ctx, &e->sd->value,
                                          e->signer ? e->signer->user_name : NULL);
}

static DiscoReloadStoredData *
synthesize_absent (DiscoReloadDataModel model, guint32 index, GBytes *key)
{
  DiscoReloadStoredData *sd = disco_reload_stored_data_new (model);

  /* exists = FALSE, identity none, algorithm {0,0}, empty signature. */
  sd->value.exists = FALSE;
  sd->value.index = index;
  sd->value.key = key ? g_bytes_ref (key) : NULL;
  return sd;
}

typedef struct
{
  DiscoReloadStorageEntry *entry; /* NULL: synthesise */
  guint32 index;
  GBytes *key;
} Match;

static gboolean
index_in_ranges (guint32 index, GArray *ranges, guint32 last)
{
  if (ranges == NULL || ranges->len == 0)
    return TRUE; /* no ranges: every element */
  for (guint i = 0; i < ranges->len; i++)
    {
      DiscoReloadArrayRange *r = &g_array_index (ranges, DiscoReloadArrayRange, i);
      guint32 first = r->first == DISCO_RELOAD_ARRAY_LAST ? last : r->first;
      guint32 end = r->last == DISCO_RELOAD_ARRAY_LAST ? last : r->last;
      if (index >= first && index <= end)
        return TRUE;
    }
  return FALSE;
}

typedef struct
{
  gint64 now;
  GArray *ranges;
  guint32 last;
  GArray *out; /* Match */
} RangeData;

static gboolean
range_cb (gpointer key, gpointer value, gpointer data)
{
  RangeData *rd = data;
  DiscoReloadStorageEntry *e = value;
  guint32 index = GPOINTER_TO_UINT (key);

  if (entry_live (e, rd->now) && index_in_ranges (index, rd->ranges, rd->last))
    {
      Match m = { e, index, NULL };
      g_array_append_val (rd->out, m);
    }
  return FALSE;
}

static gboolean
dict_cb (gpointer key, gpointer value, gpointer data)
{
  RangeData *rd = data;
  DiscoReloadStorageEntry *e = value;

  if (entry_live (e, rd->now))
    {
      Match m = { e, 0, key };
      g_array_append_val (rd->out, m);
    }
  return FALSE;
}

/* The entries a specifier selects; a NULL entry means "synthesise". */
static GArray *
select_entries (DiscoReloadStorage *s, DiscoReloadStorageSlot *slot,
                const DiscoReloadStoredDataSpecifier *spec, DiscoReloadDataModel model, gint64 now)
{
  GArray *out = g_array_new (FALSE, TRUE, sizeof (Match));
  RangeData rd = { now, spec->indices, 0, out };

  switch (model)
    {
      case DISCO_RELOAD_DATA_MODEL_SINGLE:
        {
          Match m = { slot && entry_live (slot->single, now) ? slot->single : NULL, 0, NULL };
          g_array_append_val (out, m);
          break;
        }
      case DISCO_RELOAD_DATA_MODEL_ARRAY:
        if (slot && slot->entries)
          {
            GTreeNode *last = g_tree_node_last (slot->entries);

            /* "last element" = the highest index held. */
            rd.last = last ? GPOINTER_TO_UINT (g_tree_node_key (last)) : 0;
            if (last)
              g_tree_foreach (slot->entries, range_cb, &rd);
          }
        break;
      case DISCO_RELOAD_DATA_MODEL_DICTIONARY:
        if (spec->keys == NULL || spec->keys->len == 0)
          {
            if (slot && slot->entries)
              g_tree_foreach (slot->entries, dict_cb, &rd);
          }
        else
          for (guint i = 0; i < spec->keys->len; i++)
            {
              GBytes *key = g_ptr_array_index (spec->keys, i);
              DiscoReloadStorageEntry *e = slot ? g_tree_lookup (slot->entries, key) : NULL;
              Match m = { entry_live (e, now) ? e : NULL, 0, key };
              g_array_append_val (out, m);
            }
        break;
      default:
        break;
    }
  return out;
}

static void
add_certificate (GPtrArray *certificates, DiscoReloadCert *cert)
{
  if (certificates == NULL || cert == NULL)
    return;
  for (guint i = 0; i < certificates->len; i++)
    {
      DiscoReloadGenericCertificate *gc = g_ptr_array_index (certificates, i);
      if (gc->certificate && g_bytes_equal (gc->certificate, cert->der))
        return;
    }
  g_ptr_array_add (certificates,
                   disco_reload_generic_certificate_new (DISCO_RELOAD_CERT_X509, cert->der));
}

static gboolean
check_specifiers (DiscoReloadStorage *s, DiscoReloadFetchReq *req, DiscoReloadErrorResponse *err)
{
  g_autoptr (GArray) unknown = g_array_new (FALSE, FALSE, sizeof (DiscoReloadKindId));

  if (req->specifiers == NULL)
    return fail (err, DISCO_RELOAD_ERROR_INVALID_MESSAGE, "no specifiers");
  for (guint i = 0; i < req->specifiers->len; i++)
    {
      DiscoReloadStoredDataSpecifier *spec = g_ptr_array_index (req->specifiers, i);
      const DiscoReloadKindConfig *kc = disco_reload_config_find_kind (s->config, spec->kind);

      if (kc == NULL)
        {
          g_array_append_val (unknown, spec->kind);
          continue;
        }
      if (spec->model != kc->data_model)
        return fail (err, DISCO_RELOAD_ERROR_INVALID_MESSAGE,
                     "specifier for kind %u not in its data model (decode with "
                     "disco_reload_config_kind_model)",
                     spec->kind);
      for (guint j = 0; spec->indices && j < spec->indices->len; j++)
        {
          DiscoReloadArrayRange *r = &g_array_index (spec->indices, DiscoReloadArrayRange, j);
          if (r->first > r->last)
            return fail (err, DISCO_RELOAD_ERROR_INVALID_MESSAGE, "array range %u..%u", r->first,
                         r->last);
        }
    }
  if (unknown->len > 0)
    {
      err->unknown_kinds = g_steal_pointer (&unknown);
      return fail (err, DISCO_RELOAD_ERROR_UNKNOWN_KIND, "unknown kind(s) in request");
    }
  return TRUE;
}

gboolean
disco_reload_storage_fetch (DiscoReloadStorage *s, DiscoReloadFetchReq *req,
                            DiscoReloadFetchAns *ans, GPtrArray *certificates,
                            DiscoReloadErrorResponse *err)
{
  gint64 now = disco_reload_storage_now_ms (s);
  g_autoptr (GPtrArray) view = NULL;

  if (!check_specifiers (s, req, err))
    return FALSE;
  for (guint i = 0; i < req->specifiers->len; i++)
    {
      DiscoReloadStoredDataSpecifier *spec = g_ptr_array_index (req->specifiers, i);
      const DiscoReloadKindConfig *kc = disco_reload_config_find_kind (s->config, spec->kind);
      DiscoReloadStorageSlot *slot = s->backend->lookup (s->be, &req->resource, spec->kind);
      guint64 gen = slot ? slot->generation : 0;
      DiscoReloadFetchKindResponse *kr = disco_reload_fetch_kind_response_new (spec->kind, gen);
      g_autoptr (GArray) matches = NULL;

      g_ptr_array_add (ans->kind_responses, kr);
      if (spec->generation != 0 && spec->generation == gen)
        continue; /* the requester's copy is current */
      if (kc->access == DISCO_RELOAD_ACCESS_USER_CHAIN_ACL && view == NULL)
        view = acl_view (s, &req->resource, NULL);
      matches = select_entries (s, slot, spec, kc->data_model, now);
      for (guint j = 0; j < matches->len; j++)
        {
          Match *m = &g_array_index (matches, Match, j);

          if (m->entry == NULL)
            {
              g_ptr_array_add (kr->values, synthesize_absent (kc->data_model, m->index, m->key));
              continue;
            }
          if (kc->access == DISCO_RELOAD_ACCESS_USER_CHAIN_ACL
              && !still_authorized (s, kc, &req->resource, view, m->entry))
            continue;
          g_ptr_array_add (kr->values, disco_reload_stored_data_ref (m->entry->sd));
          add_certificate (certificates, m->entry->signer);
        }
    }
  return TRUE;
}

gboolean
disco_reload_storage_stat (DiscoReloadStorage *s, DiscoReloadFetchReq *req, DiscoReloadStatAns *ans,
                           DiscoReloadErrorResponse *err)
{
  gint64 now = disco_reload_storage_now_ms (s);

  if (!check_specifiers (s, req, err))
    return FALSE;
  for (guint i = 0; i < req->specifiers->len; i++)
    {
      DiscoReloadStoredDataSpecifier *spec = g_ptr_array_index (req->specifiers, i);
      const DiscoReloadKindConfig *kc = disco_reload_config_find_kind (s->config, spec->kind);
      DiscoReloadStorageSlot *slot = s->backend->lookup (s->be, &req->resource, spec->kind);
      guint64 gen = slot ? slot->generation : 0;
      DiscoReloadStatKindResponse *kr = disco_reload_stat_kind_response_new (spec->kind, gen);
      g_autoptr (GArray) matches = NULL;

      g_ptr_array_add (ans->kind_responses, kr);
      if (spec->generation != 0 && spec->generation == gen)
        continue;
      matches = select_entries (s, slot, spec, kc->data_model, now);
      for (guint j = 0; j < matches->len; j++)
        {
          Match *m = &g_array_index (matches, Match, j);
          DiscoReloadStoredMetaData *md = disco_reload_stored_meta_data_new (kc->data_model);
          guint8 digest[32];
          gsize digest_len = sizeof digest;
          g_autoptr (GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
          guint8 len_be[4];
          gsize len = 0;
          const guint8 *data = NULL;

          md->index = m->index;
          md->key = m->key ? g_bytes_ref (m->key) : NULL;
          if (m->entry)
            {
              const DiscoReloadStoredData *sd = m->entry->sd;
              data = sd->value.value ? g_bytes_get_data (sd->value.value, &len) : NULL;
              md->storage_time = sd->storage_time;
              md->lifetime = (guint32)MAX (0, (m->entry->expires_ms - now + 999) / 1000);
              md->exists = sd->value.exists;
            }
          else
            md->exists = FALSE;
          md->value_length = (guint32)len;
          /* Hash over DataValue.value including its 4 length bytes. */
          len_be[0] = len >> 24, len_be[1] = len >> 16, len_be[2] = len >> 8, len_be[3] = len;
          g_checksum_update (sha, len_be, 4);
          if (len)
            g_checksum_update (sha, data, len);
          g_checksum_get_digest (sha, digest, &digest_len);
          md->hash_algorithm = DISCO_RELOAD_HASH_SHA256;
          md->hash_value = g_bytes_new (digest, sizeof digest);
          g_ptr_array_add (kr->values, md);
        }
    }
  return TRUE;
}

/* ---- Find ------------------------------------------------------------------------ */

typedef struct
{
  DiscoReloadStorage *s;
  const DiscoReloadResourceId *from;
  DiscoReloadKindId kind;
  gint64 now;
  gboolean found;
  DiscoReloadResourceId best;
} FindData;

static gint
rid_compare (const DiscoReloadResourceId *a, const DiscoReloadResourceId *b)
{
  int c = memcmp (a->id, b->id, MIN (a->len, b->len));

  return c ? c : (int)a->len - (int)b->len;
}

static gboolean
find_cb (DiscoReloadStorageSlot *slot, gpointer data)
{
  FindData *fd = data;
  g_autoptr (GPtrArray) live = NULL;
  gboolean any = FALSE;

  if (slot->kind != fd->kind || rid_compare (&slot->resource, fd->from) < 0)
    return TRUE;
  if (fd->found && rid_compare (&slot->resource, &fd->best) >= 0)
    return TRUE;
  live = slot_live (slot, fd->now);
  for (guint i = 0; !any && i < live->len; i++)
    any = ((DiscoReloadStorageEntry *)g_ptr_array_index (live, i))->sd->value.exists;
  if (any)
    {
      fd->found = TRUE;
      fd->best = slot->resource;
    }
  return TRUE;
}

gboolean
disco_reload_storage_find (DiscoReloadStorage *s, const DiscoReloadFindReq *req,
                           DiscoReloadFindAns *ans, DiscoReloadErrorResponse *err)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (NULL, NULL);

  for (guint i = 0; req->kinds && i < req->kinds->len; i++)
    {
      DiscoReloadKindId kind = g_array_index (req->kinds, DiscoReloadKindId, i);
      FindData fd = { s, &req->resource, kind, disco_reload_storage_now_ms (s), FALSE, { 0 } };
      DiscoReloadFindKindData out = { 0 };

      if (g_hash_table_contains (seen, GUINT_TO_POINTER (kind)))
        return fail (err, DISCO_RELOAD_ERROR_INVALID_MESSAGE, "kind %u appears twice", kind);
      g_hash_table_add (seen, GUINT_TO_POINTER (kind));
      out.kind = kind;
      if (disco_reload_config_find_kind (s->config, kind))
        s->backend->foreach (s->be, find_cb, &fd);
      if (fd.found)
        out.closest = fd.best;
      else
        out.closest.len = 16; /* "0": sixteen zero bytes */
      g_array_append_val (ans->results, out);
    }
  return TRUE;
}

/* ---- maintenance ------------------------------------------------------------------ */

typedef struct
{
  DiscoReloadStorage *s;
  gint64 now;
  guint removed;
  guint live;
  GPtrArray *empty; /* DiscoReloadStorageSlot* to remove */
  DiscoReloadCertPool *known;
} ExpireData;

static gboolean
expire_cb (DiscoReloadStorageSlot *slot, gpointer data)
{
  ExpireData *ed = data;
  g_autoptr (GPtrArray) dead = g_ptr_array_new ();
  gboolean changed = FALSE;

  if (slot->model == DISCO_RELOAD_DATA_MODEL_SINGLE)
    {
      if (slot->single && !entry_live (slot->single, ed->now))
        {
          g_clear_pointer (&slot->single, disco_reload_storage_entry_free);
          ed->removed++;
          changed = TRUE;
        }
      else if (slot->single)
        {
          ed->live++;
          disco_reload_cert_pool_add (ed->known, slot->single->signer);
        }
      if (slot->single == NULL)
        g_ptr_array_add (ed->empty, slot);
    }
  else if (slot->entries)
    {
      GTreeNode *node;
      for (node = g_tree_node_first (slot->entries); node; node = g_tree_node_next (node))
        {
          DiscoReloadStorageEntry *e = g_tree_node_value (node);
          if (!entry_live (e, ed->now))
            g_ptr_array_add (dead, g_tree_node_key (node));
          else
            {
              ed->live++;
              if (e->signer)
                disco_reload_cert_pool_add (ed->known, e->signer);
            }
        }
      for (guint i = 0; i < dead->len; i++)
        g_tree_remove (slot->entries, g_ptr_array_index (dead, i));
      ed->removed += dead->len;
      changed = dead->len > 0;
      if (g_tree_nnodes (slot->entries) == 0)
        g_ptr_array_add (ed->empty, slot);
    }
  if (changed)
    ed->s->backend->changed (ed->s->be, slot);
  return TRUE;
}

guint
disco_reload_storage_expire (DiscoReloadStorage *s)
{
  ExpireData ed = { s, disco_reload_storage_now_ms (s), 0, 0, g_ptr_array_new (), s->known };

  disco_reload_cert_pool_clear (s->known);

  s->backend->foreach (s->be, expire_cb, &ed);
  for (guint i = 0; i < ed.empty->len; i++)
    {
      DiscoReloadStorageSlot *slot = g_ptr_array_index (ed.empty, i);
      DiscoReloadResourceId rid = slot->resource;
      s->backend->remove (s->be, &rid, slot->kind);
    }
  g_ptr_array_unref (ed.empty);
  if (ed.removed > 0)
    s->cert_kinds_dirty = TRUE;
  return ed.removed;
}

static gboolean
count_slot_cb (DiscoReloadStorageSlot *slot, gpointer data)
{
  gpointer *d = data;
  DiscoReloadStorage *s = d[0];
  guint *n = d[1];
  g_autoptr (GPtrArray) live = slot_live (slot, disco_reload_storage_now_ms (s));

  *n += live->len;
  return TRUE;
}

guint
disco_reload_storage_count (DiscoReloadStorage *s)
{
  guint n = 0;
  gpointer d[2] = { s, &n };

  s->backend->foreach (s->be, count_slot_cb, d);
  return n;
}

typedef struct
{
  DiscoReloadStorage *s;
  GPtrArray *slots; /* DiscoReloadStoreKindData* with resource kept alongside */
  GArray *resources;
  const DiscoReloadResourceId *only;
} ExportData;

static gboolean
export_cb (DiscoReloadStorageSlot *slot, gpointer data)
{
  ExportData *xd = data;
  gint64 now = disco_reload_storage_now_ms (xd->s);
  g_autoptr (GPtrArray) live = NULL;
  DiscoReloadStoreKindData *kd;

  if (xd->only && rid_compare (&slot->resource, xd->only) != 0)
    return TRUE;
  live = slot_live (slot, now);
  if (live->len == 0)
    return TRUE;
  kd = disco_reload_store_kind_data_new (slot->kind, slot->generation);
  for (guint i = 0; i < live->len; i++)
    {
      DiscoReloadStorageEntry *e = g_ptr_array_index (live, i);
      /* A copy: the lifetime is not signed, and the original may be shared
       * with answers in flight. */
      DiscoReloadStoredData *copy = stored_data_copy (e->sd);

      copy->lifetime = (guint32)MAX (0, (e->expires_ms - now) / 1000);
      g_ptr_array_add (kd->values, copy);
    }
  g_ptr_array_add (xd->slots, kd);
  g_array_append_val (xd->resources, slot->resource);
  return TRUE;
}

void
disco_reload_storage_foreach (DiscoReloadStorage *s, DiscoReloadStorageForeachFunc func,
                              gpointer user_data)
{
  ExportData xd
      = { s, g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_store_kind_data_free),
          g_array_new (FALSE, FALSE, sizeof (DiscoReloadResourceId)), NULL };

  /* Collected first so @func may store or remove while we iterate. */
  s->backend->foreach (s->be, export_cb, &xd);
  /* ACL slots go first: a peer receiving the copies can only accept shared
   * (USER-CHAIN-ACL) data once it holds the ACL that authorises it. */
  for (int pass = 0; pass < 2; pass++)
    for (guint i = 0; i < xd.slots->len; i++)
      {
        DiscoReloadStoreKindData *kd = g_ptr_array_index (xd.slots, i);
        if ((kd->kind == DISCO_RELOAD_KIND_ACCESS_CONTROL_LIST) == (pass == 0))
          func (&g_array_index (xd.resources, DiscoReloadResourceId, i), kd, user_data);
      }
  g_ptr_array_unref (xd.slots);
  g_array_unref (xd.resources);
}

static gboolean
collect_kinds_cb (DiscoReloadStorageSlot *slot, gpointer data)
{
  gpointer *d = data;
  const DiscoReloadResourceId *rid = d[0];
  GArray *kinds = d[1];

  if (rid_compare (&slot->resource, rid) == 0)
    g_array_append_val (kinds, slot->kind);
  return TRUE;
}

void
disco_reload_storage_remove_resource (DiscoReloadStorage *s, const DiscoReloadResourceId *resource)
{
  g_autoptr (GArray) kinds = g_array_new (FALSE, FALSE, sizeof (DiscoReloadKindId));
  gpointer d[2] = { (gpointer)resource, kinds };

  s->backend->foreach (s->be, collect_kinds_cb, d);
  for (guint i = 0; i < kinds->len; i++)
    s->backend->remove (s->be, resource, g_array_index (kinds, DiscoReloadKindId, i));
}
