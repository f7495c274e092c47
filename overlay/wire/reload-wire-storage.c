/* reload-wire-storage.c: StoredData and the Store/Fetch/Stat/Find bodies
 * (RFC 6940 §7). */
#define G_LOG_DOMAIN "disco-wire"

#include "reload-wire-private.h"

/* ---- StoredDataValue ---- */

static gboolean
read_stored_data_value (DiscoWireReader *r, DiscoReloadDataModel model,
                        DiscoReloadStoredDataValue *v, GError **error)
{
  v->model = model;
  switch (model)
    {
      case DISCO_RELOAD_DATA_MODEL_SINGLE:
        break;
      case DISCO_RELOAD_DATA_MODEL_ARRAY:
        if (!disco_wire_read_u32 (r, &v->index, "ArrayEntry index", error))
          return FALSE;
        break;
      case DISCO_RELOAD_DATA_MODEL_DICTIONARY:
        if (!disco_wire_read_opaque (r, 2, &v->key, "DictionaryKey", error))
          return FALSE;
        break;
      default:
        return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE,
                                "unknown data model %d", model);
    }
  return disco_wire_read_bool (r, &v->exists, "DataValue exists", error)
         && disco_wire_read_opaque (r, 4, &v->value, "DataValue value", error);
}

static gboolean
put_stored_data_value (GByteArray *out, const DiscoReloadStoredDataValue *v, gboolean zero_index,
                       GError **error)
{
  switch (v->model)
    {
      case DISCO_RELOAD_DATA_MODEL_SINGLE:
        break;
      case DISCO_RELOAD_DATA_MODEL_ARRAY:
        disco_wire_put_u32 (out, zero_index ? 0 : v->index);
        break;
      case DISCO_RELOAD_DATA_MODEL_DICTIONARY:
        if (!disco_wire_put_opaque_bytes (out, 2, v->key, "DictionaryKey", error))
          return FALSE;
        break;
      default:
        return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_ENCODE,
                                "StoredDataValue with unknown data model");
    }
  disco_wire_put_u8 (out, v->exists ? 1 : 0);
  return disco_wire_put_opaque_bytes (out, 4, v->value, "DataValue value", error);
}

gboolean
disco_reload_stored_data_value_encode (const DiscoReloadStoredDataValue *v, GByteArray *out,
                                       GError **error)
{
  guint start = out->len;

  if (put_stored_data_value (out, v, FALSE, error))
    return TRUE;
  g_byte_array_set_size (out, start);
  return FALSE;
}

/* ---- StoredData ---- */

static gboolean
read_value_and_signature (DiscoWireReader *r, DiscoReloadDataModel model, DiscoReloadStoredData *sd,
                          GError **error)
{
  disco_reload_signature_clear (&sd->signature);
  disco_reload_stored_data_value_clear (&sd->value);
  return read_stored_data_value (r, model, &sd->value, error)
         && disco_wire_read_signature (r, &sd->signature, error)
         && disco_wire_reader_done (r, "StoredData", error);
}

/* @r is positioned on StoredData.length. */
static DiscoReloadStoredData *
read_stored_data (DiscoWireReader *r, DiscoReloadDataModel model, GError **error)
{
  DiscoWireReader sub;
  g_autoptr (DiscoReloadStoredData) sd = disco_reload_stored_data_new (model);

  if (!disco_wire_read_sub (r, 4, &sub, "StoredData", error)
      || !disco_wire_read_u64 (&sub, &sd->storage_time, "storage_time", error)
      || !disco_wire_read_u32 (&sub, &sd->lifetime, "lifetime", error))
    return NULL;
  if (model == DISCO_RELOAD_DATA_MODEL_UNKNOWN)
    {
      /* Without the kind's data model the value/signature boundary cannot
       * be found; the StoredData length still lets us skip it intact. */
      sd->value.model = DISCO_RELOAD_DATA_MODEL_UNKNOWN;
      sd->undecoded = disco_wire_reader_slice (&sub, sub.pos, disco_wire_reader_left (&sub));
      return g_steal_pointer (&sd);
    }
  if (!read_value_and_signature (&sub, model, sd, error))
    return NULL;
  return g_steal_pointer (&sd);
}

DiscoReloadStoredData *
disco_reload_stored_data_decode (const guint8 *data, gsize len, DiscoReloadDataModel model,
                                 GError **error)
{
  DiscoWireReader r;
  g_autoptr (DiscoReloadStoredData) sd = NULL;

  disco_wire_reader_init (&r, data, len, NULL);
  sd = read_stored_data (&r, model, error);
  if (sd == NULL || !disco_wire_reader_done (&r, "StoredData", error))
    return NULL;
  return g_steal_pointer (&sd);
}

gboolean
disco_reload_stored_data_resolve (DiscoReloadStoredData *sd, DiscoReloadDataModel model,
                                  GError **error)
{
  DiscoWireReader r;
  gsize n;
  const guint8 *p;

  if (sd->undecoded == NULL)
    {
      if (sd->value.model == model)
        return TRUE;
      return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE,
                              "StoredData already decoded with another data model");
    }
  p = g_bytes_get_data (sd->undecoded, &n);
  disco_wire_reader_init (&r, p, n, sd->undecoded);
  if (!read_value_and_signature (&r, model, sd, error))
    {
      disco_reload_stored_data_value_clear (&sd->value);
      sd->value.model = DISCO_RELOAD_DATA_MODEL_UNKNOWN;
      disco_reload_signature_set_none (&sd->signature);
      return FALSE;
    }
  g_clear_pointer (&sd->undecoded, g_bytes_unref);
  return TRUE;
}

static gboolean
put_stored_data (GByteArray *out, const DiscoReloadStoredData *sd, GError **error)
{
  gsize pos = disco_wire_begin_len (out, 4);

  disco_wire_put_u64 (out, sd->storage_time);
  disco_wire_put_u32 (out, sd->lifetime);
  if (sd->value.model == DISCO_RELOAD_DATA_MODEL_UNKNOWN && sd->undecoded != NULL)
    {
      gsize n;
      const guint8 *p = g_bytes_get_data (sd->undecoded, &n);

      disco_wire_put_bytes (out, p, n);
    }
  else if (!put_stored_data_value (out, &sd->value, FALSE, error)
           || !disco_reload_signature_encode (&sd->signature, out, error))
    return FALSE;
  return disco_wire_end_len (out, pos, 4, "StoredData", error);
}

gboolean
disco_reload_stored_data_encode (const DiscoReloadStoredData *sd, GByteArray *out, GError **error)
{
  guint start = out->len;

  if (put_stored_data (out, sd, error))
    return TRUE;
  g_byte_array_set_size (out, start);
  return FALSE;
}

gboolean
disco_reload_stored_data_signature_input (const DiscoReloadResourceId *resource,
                                          DiscoReloadKindId kind, const DiscoReloadStoredData *sd,
                                          const DiscoReloadSignerIdentity *identity,
                                          GByteArray *out, GError **error)
{
  guint start = out->len;

  /* §7.1: the Resource-ID as raw bytes (no length prefix), then the KindId
   * and storage_time in their wire widths, the StoredDataValue with an
   * array index of 0 (§7.4.2.2: appends make the final index unknown to the
   * signer) and the SignerIdentity as it appears in the Signature. */
  disco_wire_put_bytes (out, resource->id, resource->len);
  disco_wire_put_u32 (out, kind);
  disco_wire_put_u64 (out, sd->storage_time);
  if (put_stored_data_value (out, &sd->value, TRUE, error)
      && disco_reload_signer_identity_encode (identity, out, error))
    return TRUE;
  g_byte_array_set_size (out, start);
  return FALSE;
}

static gboolean
read_stored_data_list (DiscoWireReader *r, DiscoReloadKindId kind, GPtrArray *values,
                       GError **error)
{
  DiscoWireReader sub;
  DiscoReloadDataModel model = disco_wire_kind_model (r->options, kind);

  if (!disco_wire_read_sub (r, 4, &sub, "StoredData list", error))
    return FALSE;
  while (disco_wire_reader_left (&sub) > 0)
    {
      DiscoReloadStoredData *sd = read_stored_data (&sub, model, error);

      if (sd == NULL)
        return FALSE;
      g_ptr_array_add (values, sd);
    }
  return TRUE;
}

static gboolean
put_stored_data_list (GByteArray *out, const GPtrArray *values, GError **error)
{
  gsize pos = disco_wire_begin_len (out, 4);

  for (guint i = 0; values != NULL && i < values->len; i++)
    if (!put_stored_data (out, g_ptr_array_index (values, i), error))
      return FALSE;
  return disco_wire_end_len (out, pos, 4, "StoredData list", error);
}

/* ---- StoreReq / StoreAns ---- */

gboolean
disco_wire_read_store_req (DiscoWireReader *r, DiscoReloadStoreReq *req, GError **error)
{
  DiscoWireReader list;

  if (!disco_wire_read_resource_id (r, &req->resource, error)
      || !disco_wire_read_u8 (r, &req->replica_number, "replica_number", error)
      || !disco_wire_read_sub (r, 4, &list, "kind_data", error))
    return FALSE;
  while (disco_wire_reader_left (&list) > 0)
    {
      DiscoReloadStoreKindData *kd = disco_reload_store_kind_data_new (0, 0);

      g_ptr_array_add (req->kind_data, kd);
      if (!disco_wire_read_u32 (&list, &kd->kind, "StoreKindData kind", error)
          || !disco_wire_read_u64 (&list, &kd->generation_counter, "generation_counter", error)
          || !read_stored_data_list (&list, kd->kind, kd->values, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
disco_wire_put_store_req (GByteArray *out, const DiscoReloadStoreReq *req, GError **error)
{
  gsize pos;

  disco_wire_put_resource_id (out, &req->resource);
  disco_wire_put_u8 (out, req->replica_number);
  pos = disco_wire_begin_len (out, 4);
  for (guint i = 0; req->kind_data != NULL && i < req->kind_data->len; i++)
    {
      const DiscoReloadStoreKindData *kd = g_ptr_array_index (req->kind_data, i);

      disco_wire_put_u32 (out, kd->kind);
      disco_wire_put_u64 (out, kd->generation_counter);
      if (!put_stored_data_list (out, kd->values, error))
        return FALSE;
    }
  return disco_wire_end_len (out, pos, 4, "kind_data", error);
}

gboolean
disco_wire_read_store_ans (DiscoWireReader *r, DiscoReloadStoreAns *ans, GError **error)
{
  DiscoWireReader list;

  if (!disco_wire_read_sub (r, 2, &list, "kind_responses", error))
    return FALSE;
  while (disco_wire_reader_left (&list) > 0)
    {
      DiscoReloadStoreKindResponse *kr = disco_reload_store_kind_response_new (0, 0);

      g_ptr_array_add (ans->kind_responses, kr);
      if (!disco_wire_read_u32 (&list, &kr->kind, "StoreKindResponse kind", error)
          || !disco_wire_read_u64 (&list, &kr->generation_counter, "generation_counter", error)
          || !disco_wire_read_node_id_list (&list, 2, kr->replicas, "replicas", error))
        return FALSE;
    }
  return TRUE;
}

gboolean
disco_wire_put_store_ans (GByteArray *out, const DiscoReloadStoreAns *ans, GError **error)
{
  gsize pos = disco_wire_begin_len (out, 2);

  for (guint i = 0; ans->kind_responses != NULL && i < ans->kind_responses->len; i++)
    {
      const DiscoReloadStoreKindResponse *kr = g_ptr_array_index (ans->kind_responses, i);

      disco_wire_put_u32 (out, kr->kind);
      disco_wire_put_u64 (out, kr->generation_counter);
      if (!disco_wire_put_node_id_list (out, 2, kr->replicas, "replicas", error))
        return FALSE;
    }
  return disco_wire_end_len (out, pos, 2, "kind_responses", error);
}

/* ---- FetchReq / StatReq ---- */

static gboolean
read_specifier_arm (DiscoWireReader *arm, DiscoReloadStoredDataSpecifier *s, GError **error)
{
  DiscoWireReader list;

  switch (s->model)
    {
      case DISCO_RELOAD_DATA_MODEL_SINGLE:
        break;
      case DISCO_RELOAD_DATA_MODEL_ARRAY:
        if (!disco_wire_read_sub (arm, 2, &list, "ArrayRange list", error))
          return FALSE;
        if (list.len % 8 != 0)
          return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE,
                                  "ArrayRange list of %" G_GSIZE_FORMAT " bytes", list.len);
        while (disco_wire_reader_left (&list) > 0)
          {
            DiscoReloadArrayRange range;

            disco_wire_read_u32 (&list, &range.first, "first", NULL);
            disco_wire_read_u32 (&list, &range.last, "last", NULL);
            g_array_append_val (s->indices, range);
          }
        break;
      case DISCO_RELOAD_DATA_MODEL_DICTIONARY:
        if (!disco_wire_read_sub (arm, 2, &list, "DictionaryKey list", error))
          return FALSE;
        while (disco_wire_reader_left (&list) > 0)
          {
            GBytes *key;

            if (!disco_wire_read_opaque (&list, 2, &key, "DictionaryKey", error))
              return FALSE;
            g_ptr_array_add (s->keys, key);
          }
        break;
      default:
        g_assert_not_reached ();
    }
  return disco_wire_reader_done (arm, "StoredDataSpecifier", error);
}

gboolean
disco_wire_read_fetch_req (DiscoWireReader *r, DiscoReloadFetchReq *req, GError **error)
{
  DiscoWireReader list;

  if (!disco_wire_read_resource_id (r, &req->resource, error)
      || !disco_wire_read_sub (r, 2, &list, "specifiers", error))
    return FALSE;
  while (disco_wire_reader_left (&list) > 0)
    {
      DiscoReloadStoredDataSpecifier *s
          = disco_reload_stored_data_specifier_new (0, DISCO_RELOAD_DATA_MODEL_UNKNOWN);
      DiscoWireReader arm;

      g_ptr_array_add (req->specifiers, s);
      if (!disco_wire_read_u32 (&list, &s->kind, "StoredDataSpecifier kind", error)
          || !disco_wire_read_u64 (&list, &s->generation, "generation", error)
          || !disco_wire_read_sub (&list, 2, &arm, "StoredDataSpecifier", error))
        return FALSE;
      s->model = disco_wire_kind_model (r->options, s->kind);
      if (s->model == DISCO_RELOAD_DATA_MODEL_UNKNOWN)
        s->undecoded = disco_wire_reader_slice (&arm, 0, arm.len);
      else if (!read_specifier_arm (&arm, s, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
disco_wire_put_fetch_req (GByteArray *out, const DiscoReloadFetchReq *req, GError **error)
{
  gsize pos;

  disco_wire_put_resource_id (out, &req->resource);
  pos = disco_wire_begin_len (out, 2);
  for (guint i = 0; req->specifiers != NULL && i < req->specifiers->len; i++)
    {
      const DiscoReloadStoredDataSpecifier *s = g_ptr_array_index (req->specifiers, i);
      gsize arm, list;

      disco_wire_put_u32 (out, s->kind);
      disco_wire_put_u64 (out, s->generation);
      arm = disco_wire_begin_len (out, 2);
      switch (s->model)
        {
          case DISCO_RELOAD_DATA_MODEL_SINGLE:
            break;
          case DISCO_RELOAD_DATA_MODEL_ARRAY:
            list = disco_wire_begin_len (out, 2);
            for (guint j = 0; s->indices != NULL && j < s->indices->len; j++)
              {
                const DiscoReloadArrayRange *range
                    = &g_array_index (s->indices, DiscoReloadArrayRange, j);

                disco_wire_put_u32 (out, range->first);
                disco_wire_put_u32 (out, range->last);
              }
            if (!disco_wire_end_len (out, list, 2, "ArrayRange list", error))
              return FALSE;
            break;
          case DISCO_RELOAD_DATA_MODEL_DICTIONARY:
            list = disco_wire_begin_len (out, 2);
            for (guint j = 0; s->keys != NULL && j < s->keys->len; j++)
              if (!disco_wire_put_opaque_bytes (out, 2, g_ptr_array_index (s->keys, j),
                                                "DictionaryKey", error))
                return FALSE;
            if (!disco_wire_end_len (out, list, 2, "DictionaryKey list", error))
              return FALSE;
            break;
          default:
            if (s->undecoded != NULL)
              {
                gsize n;
                const guint8 *p = g_bytes_get_data (s->undecoded, &n);

                disco_wire_put_bytes (out, p, n);
              }
            break;
        }
      if (!disco_wire_end_len (out, arm, 2, "StoredDataSpecifier", error))
        return FALSE;
    }
  return disco_wire_end_len (out, pos, 2, "specifiers", error);
}

/* ---- FetchAns ---- */

gboolean
disco_wire_read_fetch_ans (DiscoWireReader *r, DiscoReloadFetchAns *ans, GError **error)
{
  DiscoWireReader list;

  if (!disco_wire_read_sub (r, 4, &list, "kind_responses", error))
    return FALSE;
  while (disco_wire_reader_left (&list) > 0)
    {
      DiscoReloadFetchKindResponse *kr = disco_reload_fetch_kind_response_new (0, 0);

      g_ptr_array_add (ans->kind_responses, kr);
      if (!disco_wire_read_u32 (&list, &kr->kind, "FetchKindResponse kind", error)
          || !disco_wire_read_u64 (&list, &kr->generation, "generation", error)
          || !read_stored_data_list (&list, kr->kind, kr->values, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
disco_wire_put_fetch_ans (GByteArray *out, const DiscoReloadFetchAns *ans, GError **error)
{
  gsize pos = disco_wire_begin_len (out, 4);

  for (guint i = 0; ans->kind_responses != NULL && i < ans->kind_responses->len; i++)
    {
      const DiscoReloadFetchKindResponse *kr = g_ptr_array_index (ans->kind_responses, i);

      disco_wire_put_u32 (out, kr->kind);
      disco_wire_put_u64 (out, kr->generation);
      if (!put_stored_data_list (out, kr->values, error))
        return FALSE;
    }
  return disco_wire_end_len (out, pos, 4, "kind_responses", error);
}

/* ---- StatAns ---- */

static gboolean
read_meta_data_value (DiscoWireReader *r, DiscoReloadStoredMetaData *md, GError **error)
{
  switch (md->model)
    {
      case DISCO_RELOAD_DATA_MODEL_SINGLE:
        break;
      case DISCO_RELOAD_DATA_MODEL_ARRAY:
        if (!disco_wire_read_u32 (r, &md->index, "ArrayEntryMeta index", error))
          return FALSE;
        break;
      case DISCO_RELOAD_DATA_MODEL_DICTIONARY:
        if (!disco_wire_read_opaque (r, 2, &md->key, "DictionaryEntryMeta key", error))
          return FALSE;
        break;
      default:
        g_assert_not_reached ();
    }
  return disco_wire_read_bool (r, &md->exists, "MetaData exists", error)
         && disco_wire_read_u32 (r, &md->value_length, "MetaData value_length", error)
         && disco_wire_read_u8 (r, &md->hash_algorithm, "MetaData hash_algorithm", error)
         && disco_wire_read_opaque (r, 1, &md->hash_value, "MetaData hash_value", error)
         && disco_wire_reader_done (r, "StoredMetaData", error);
}

gboolean
disco_wire_read_stat_ans (DiscoWireReader *r, DiscoReloadStatAns *ans, GError **error)
{
  DiscoWireReader list;

  if (!disco_wire_read_sub (r, 4, &list, "kind_responses", error))
    return FALSE;
  while (disco_wire_reader_left (&list) > 0)
    {
      DiscoReloadStatKindResponse *kr = disco_reload_stat_kind_response_new (0, 0);
      DiscoWireReader values;
      DiscoReloadDataModel model;

      g_ptr_array_add (ans->kind_responses, kr);
      if (!disco_wire_read_u32 (&list, &kr->kind, "StatKindResponse kind", error)
          || !disco_wire_read_u64 (&list, &kr->generation, "generation", error)
          || !disco_wire_read_sub (&list, 4, &values, "StoredMetaData list", error))
        return FALSE;
      model = disco_wire_kind_model (r->options, kr->kind);
      while (disco_wire_reader_left (&values) > 0)
        {
          DiscoReloadStoredMetaData *md = disco_reload_stored_meta_data_new (model);
          DiscoWireReader sub;

          g_ptr_array_add (kr->values, md);
          if (!disco_wire_read_sub (&values, 4, &sub, "StoredMetaData", error)
              || !disco_wire_read_u64 (&sub, &md->storage_time, "storage_time", error)
              || !disco_wire_read_u32 (&sub, &md->lifetime, "lifetime", error))
            return FALSE;
          if (model == DISCO_RELOAD_DATA_MODEL_UNKNOWN)
            md->undecoded = disco_wire_reader_slice (&sub, sub.pos, disco_wire_reader_left (&sub));
          else if (!read_meta_data_value (&sub, md, error))
            return FALSE;
        }
    }
  return TRUE;
}

gboolean
disco_wire_put_stat_ans (GByteArray *out, const DiscoReloadStatAns *ans, GError **error)
{
  gsize pos = disco_wire_begin_len (out, 4);

  for (guint i = 0; ans->kind_responses != NULL && i < ans->kind_responses->len; i++)
    {
      const DiscoReloadStatKindResponse *kr = g_ptr_array_index (ans->kind_responses, i);
      gsize values;

      disco_wire_put_u32 (out, kr->kind);
      disco_wire_put_u64 (out, kr->generation);
      values = disco_wire_begin_len (out, 4);
      for (guint j = 0; kr->values != NULL && j < kr->values->len; j++)
        {
          const DiscoReloadStoredMetaData *md = g_ptr_array_index (kr->values, j);
          gsize one = disco_wire_begin_len (out, 4);

          disco_wire_put_u64 (out, md->storage_time);
          disco_wire_put_u32 (out, md->lifetime);
          if (md->model == DISCO_RELOAD_DATA_MODEL_UNKNOWN)
            {
              gsize n = 0;
              const guint8 *p = md->undecoded ? g_bytes_get_data (md->undecoded, &n) : NULL;

              disco_wire_put_bytes (out, p, n);
            }
          else
            {
              if (md->model == DISCO_RELOAD_DATA_MODEL_ARRAY)
                disco_wire_put_u32 (out, md->index);
              else if (md->model == DISCO_RELOAD_DATA_MODEL_DICTIONARY
                       && !disco_wire_put_opaque_bytes (out, 2, md->key, "DictionaryEntryMeta key",
                                                        error))
                return FALSE;
              disco_wire_put_u8 (out, md->exists ? 1 : 0);
              disco_wire_put_u32 (out, md->value_length);
              disco_wire_put_u8 (out, md->hash_algorithm);
              if (!disco_wire_put_opaque_bytes (out, 1, md->hash_value, "hash_value", error))
                return FALSE;
            }
          if (!disco_wire_end_len (out, one, 4, "StoredMetaData", error))
            return FALSE;
        }
      if (!disco_wire_end_len (out, values, 4, "StoredMetaData list", error))
        return FALSE;
    }
  return disco_wire_end_len (out, pos, 4, "kind_responses", error);
}

/* ---- FindReq / FindAns ---- */

gboolean
disco_wire_read_find_req (DiscoWireReader *r, DiscoReloadFindReq *req, GError **error)
{
  DiscoWireReader list;

  if (!disco_wire_read_resource_id (r, &req->resource, error)
      || !disco_wire_read_sub (r, 1, &list, "kinds", error))
    return FALSE;
  if (list.len % 4 != 0)
    return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE,
                            "FindReq kinds list of %" G_GSIZE_FORMAT " bytes", list.len);
  while (disco_wire_reader_left (&list) > 0)
    {
      DiscoReloadKindId k;

      disco_wire_read_u32 (&list, &k, "kind", NULL);
      g_array_append_val (req->kinds, k);
    }
  return TRUE;
}

gboolean
disco_wire_put_find_req (GByteArray *out, const DiscoReloadFindReq *req, GError **error)
{
  gsize pos;

  disco_wire_put_resource_id (out, &req->resource);
  pos = disco_wire_begin_len (out, 1);
  for (guint i = 0; req->kinds != NULL && i < req->kinds->len; i++)
    disco_wire_put_u32 (out, g_array_index (req->kinds, DiscoReloadKindId, i));
  return disco_wire_end_len (out, pos, 1, "kinds", error);
}

gboolean
disco_wire_read_find_ans (DiscoWireReader *r, DiscoReloadFindAns *ans, GError **error)
{
  DiscoWireReader list;

  if (!disco_wire_read_sub (r, 2, &list, "results", error))
    return FALSE;
  while (disco_wire_reader_left (&list) > 0)
    {
      DiscoReloadFindKindData fk;

      if (!disco_wire_read_u32 (&list, &fk.kind, "FindKindData kind", error)
          || !disco_wire_read_resource_id (&list, &fk.closest, error))
        return FALSE;
      g_array_append_val (ans->results, fk);
    }
  return TRUE;
}

gboolean
disco_wire_put_find_ans (GByteArray *out, const DiscoReloadFindAns *ans, GError **error)
{
  gsize pos = disco_wire_begin_len (out, 2);

  for (guint i = 0; ans->results != NULL && i < ans->results->len; i++)
    {
      const DiscoReloadFindKindData *fk = &g_array_index (ans->results, DiscoReloadFindKindData, i);

      disco_wire_put_u32 (out, fk->kind);
      disco_wire_put_resource_id (out, &fk->closest);
    }
  return disco_wire_end_len (out, pos, 2, "results", error);
}
