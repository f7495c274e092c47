/* Shared helpers of the storage and access-control tests: identities, a
 * fake clock, and building / storing signed values the way a peer would. */
#pragma once

#include <string.h>

#include "reload-access.h"
#include "reload-storage.h"
#include "reload-usages.h"

#define OVERLAY "disco.example.org"

/* Private test kinds on top of the default ones. */
#define KIND_SINGLE 0xF0000001u   /* SINGLE, USER-MATCH, max-size 64 */
#define KIND_ARRAY 0xF0000002u    /* ARRAY, USER-MATCH, max-count 3 */
#define KIND_MULTIPLE 0xF0000003u /* SINGLE, NODE-MULTIPLE (5) */

typedef struct
{
  DiscoReloadConfig *config;
  DiscoReloadTrust *trust;
  DiscoReloadStorage *storage;
  DiscoReloadCertPool *certs; /* every test identity's certificate: "the message's bucket" */
  gint64 now_ms;
} Fixture;

static inline gint64
fixture_clock (gpointer data)
{
  return ((Fixture *)data)->now_ms;
}

static inline void
rid_of (const char *name, DiscoReloadResourceId *rid)
{
  disco_reload_resource_id_from_name ((const guint8 *)name, strlen (name), rid);
}

static inline GBytes *
node_key (const DiscoReloadIdentity *id)
{
  return g_bytes_new (disco_reload_identity_get_node_id (id)->id, DISCO_RELOAD_NODE_ID_LENGTH);
}

/* A signed StoredData. @key may be NULL; @value NULL means exists = FALSE. */
static inline DiscoReloadStoredData *
make_value (Fixture *f, const DiscoReloadIdentity *signer, const DiscoReloadResourceId *rid,
            DiscoReloadKindId kind, DiscoReloadDataModel model, guint32 index, GBytes *key,
            GBytes *value, guint32 lifetime)
{
  g_autoptr (GError) error = NULL;
  DiscoReloadStoredData *sd = disco_reload_stored_data_new (model);

  sd->storage_time = (guint64)f->now_ms;
  sd->lifetime = lifetime;
  sd->value.index = index;
  sd->value.key = key ? g_bytes_ref (key) : NULL;
  sd->value.exists = value != NULL;
  sd->value.value = value ? g_bytes_ref (value) : g_bytes_new (NULL, 0);
  g_assert_true (disco_reload_sign_stored_data (signer, NULL, rid, kind, sd, &error));
  g_assert_no_error (error);
  return sd;
}

/* Stores @sd (stolen) as a one-kind StoreReq.  Returns 0 or the error code;
 * *@gen_out gets the new (or, for a generation error, current) counter. */
static inline guint16
store_values (Fixture *f, const DiscoReloadResourceId *rid, DiscoReloadKindId kind,
              guint64 generation, guint8 replica, GPtrArray *values,
              const DiscoReloadSigner *req_signer, guint64 *gen_out, char **why)
{
  DiscoReloadStoreReq req = { 0 };
  DiscoReloadStoreKindData *kd = disco_reload_store_kind_data_new (kind, generation);
  DiscoReloadStoreAns ans;
  DiscoReloadErrorResponse err = { 0 };
  guint16 code = 0;

  req.resource = *rid;
  req.replica_number = replica;
  req.kind_data
      = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_store_kind_data_free);
  for (guint i = 0; i < values->len; i++)
    g_ptr_array_add (kd->values, disco_reload_stored_data_ref (g_ptr_array_index (values, i)));
  g_ptr_array_add (req.kind_data, kd);
  disco_reload_store_ans_init (&ans);
  if (disco_reload_storage_store (f->storage, &req, f->certs, req_signer, &ans, &err))
    {
      DiscoReloadStoreKindResponse *r = g_ptr_array_index (ans.kind_responses, 0);
      g_assert_cmpuint (ans.kind_responses->len, ==, 1);
      g_assert_cmpuint (r->kind, ==, kind);
      if (gen_out)
        *gen_out = r->generation_counter;
    }
  else
    {
      code = err.error_code;
      g_assert_cmpuint (code, !=, 0);
      g_test_message ("store refused (%u): %.*s", code,
                      (int)(err.error_info ? g_bytes_get_size (err.error_info) : 0),
                      err.error_info ? (const char *)g_bytes_get_data (err.error_info, NULL) : "");
      if (why)
        *why = err.error_info ? g_strndup (g_bytes_get_data (err.error_info, NULL),
                                           g_bytes_get_size (err.error_info))
                              : g_strdup ("");
      if (err.store_ans)
        {
          DiscoReloadStoreKindResponse *r = g_ptr_array_index (err.store_ans->kind_responses, 0);
          if (gen_out)
            *gen_out = r->generation_counter;
          disco_reload_store_ans_clear (err.store_ans);
          g_free (err.store_ans);
        }
      g_clear_pointer (&err.error_info, g_bytes_unref);
      g_clear_pointer (&err.unknown_kinds, g_array_unref);
    }
  disco_reload_store_ans_clear (&ans);
  g_ptr_array_unref (req.kind_data);
  return code;
}

static inline guint16
store_one (Fixture *f, const DiscoReloadResourceId *rid, DiscoReloadKindId kind, guint64 generation,
           DiscoReloadStoredData *sd_steal, guint64 *gen_out)
{
  g_autoptr (GPtrArray) v
      = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_stored_data_unref);

  g_ptr_array_add (v, sd_steal);
  return store_values (f, rid, kind, generation, 0, v, NULL, gen_out, NULL);
}

/* Fetch of one kind; returns the FetchKindResponse values (caller unrefs). */
static inline GPtrArray *
fetch_kind (Fixture *f, const DiscoReloadResourceId *rid, DiscoReloadKindId kind,
            DiscoReloadDataModel model, guint64 generation, GArray *ranges, GPtrArray *keys,
            guint64 *gen_out, GPtrArray *certificates)
{
  DiscoReloadFetchReq req = { 0 };
  DiscoReloadStoredDataSpecifier *spec = disco_reload_stored_data_specifier_new (kind, model);
  DiscoReloadFetchAns ans;
  DiscoReloadErrorResponse err = { 0 };
  DiscoReloadFetchKindResponse *kr;
  GPtrArray *out;

  spec->generation = generation;
  if (ranges && spec->indices)
    g_array_append_vals (spec->indices, ranges->data, ranges->len);
  for (guint i = 0; keys && spec->keys && i < keys->len; i++)
    g_ptr_array_add (spec->keys, g_bytes_ref (g_ptr_array_index (keys, i)));
  req.resource = *rid;
  req.specifiers
      = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_stored_data_specifier_free);
  g_ptr_array_add (req.specifiers, spec);
  ans.kind_responses
      = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_fetch_kind_response_free);
  g_assert_true (disco_reload_storage_fetch (f->storage, &req, &ans, certificates, &err));
  g_assert_cmpuint (ans.kind_responses->len, ==, 1);
  kr = g_ptr_array_index (ans.kind_responses, 0);
  g_assert_cmpuint (kr->kind, ==, kind);
  if (gen_out)
    *gen_out = kr->generation;
  out = g_ptr_array_ref (kr->values);
  g_ptr_array_unref (ans.kind_responses);
  g_ptr_array_unref (req.specifiers);
  return out;
}

static inline void
fixture_init (Fixture *f, const char *xml, DiscoReloadIdentity **ids, guint n_ids)
{
  g_autoptr (GError) error = NULL;

  f->config = xml ? disco_reload_config_parse (xml, strlen (xml), NULL, "test.xml", &error)
                  : disco_reload_config_new_default ();
  g_assert_no_error (error);
  f->trust = disco_reload_trust_new (f->config, &error);
  g_assert_no_error (error);
  f->storage = disco_reload_storage_new (f->config, f->trust, NULL, NULL);
  f->now_ms = g_get_real_time () / 1000;
  disco_reload_storage_set_clock (f->storage, fixture_clock, f);
  f->certs = disco_reload_cert_pool_new ();
  for (guint i = 0; i < n_ids; i++)
    disco_reload_cert_pool_add (f->certs, ids[i]->cert);
}

static inline void
fixture_clear (Fixture *f)
{
  disco_reload_storage_free (f->storage);
  disco_reload_trust_free (f->trust);
  disco_reload_cert_pool_free (f->certs);
  disco_reload_config_unref (f->config);
}
