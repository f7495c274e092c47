/* reload-storage-memory.c: slots and entries, and the in-memory backend. */
#define G_LOG_DOMAIN "disco-reload-storage"

#include "reload-storage.h"

#include <string.h>

DiscoReloadStorageEntry *
disco_reload_storage_entry_new (DiscoReloadStoredData *sd, gint64 expires_ms,
                                DiscoReloadCert *signer, const DiscoReloadNodeId *signer_node)
{
  DiscoReloadStorageEntry *e = g_new0 (DiscoReloadStorageEntry, 1);

  e->sd = disco_reload_stored_data_ref (sd);
  e->expires_ms = expires_ms;
  e->signer = signer ? disco_reload_cert_ref (signer) : NULL;
  if (signer_node)
    e->signer_node = *signer_node;
  return e;
}

void
disco_reload_storage_entry_free (DiscoReloadStorageEntry *e)
{
  if (e == NULL)
    return;
  disco_reload_stored_data_unref (e->sd);
  g_clear_pointer (&e->signer, disco_reload_cert_unref);
  g_free (e);
}

static gint
index_compare (gconstpointer a, gconstpointer b, gpointer unused)
{
  guint32 x = GPOINTER_TO_UINT (a), y = GPOINTER_TO_UINT (b);

  return x < y ? -1 : x > y;
}

static gint
key_compare (gconstpointer a, gconstpointer b, gpointer unused)
{
  return g_bytes_compare (a, b);
}

DiscoReloadStorageSlot *
disco_reload_storage_slot_new (const DiscoReloadResourceId *resource, DiscoReloadKindId kind,
                               DiscoReloadDataModel model)
{
  DiscoReloadStorageSlot *slot = g_new0 (DiscoReloadStorageSlot, 1);

  slot->resource = *resource;
  slot->kind = kind;
  slot->model = model;
  if (model == DISCO_RELOAD_DATA_MODEL_ARRAY)
    slot->entries = g_tree_new_full (index_compare, NULL, NULL,
                                     (GDestroyNotify)disco_reload_storage_entry_free);
  else if (model == DISCO_RELOAD_DATA_MODEL_DICTIONARY)
    slot->entries = g_tree_new_full (key_compare, NULL, (GDestroyNotify)g_bytes_unref,
                                     (GDestroyNotify)disco_reload_storage_entry_free);
  return slot;
}

void
disco_reload_storage_slot_free (DiscoReloadStorageSlot *slot)
{
  if (slot == NULL)
    return;
  disco_reload_storage_entry_free (slot->single);
  g_clear_pointer (&slot->entries, g_tree_unref);
  g_free (slot);
}

/* ---- in-memory backend ------------------------------------------------------ */

typedef struct
{
  GHashTable *slots; /* GBytes(kind || rid) -> slot */
} Memory;

static GBytes *
slot_key (const DiscoReloadResourceId *resource, DiscoReloadKindId kind)
{
  guint8 buf[4 + 1 + DISCO_RELOAD_RESOURCE_ID_MAX];

  buf[0] = kind >> 24, buf[1] = kind >> 16, buf[2] = kind >> 8, buf[3] = kind;
  buf[4] = resource->len;
  memcpy (buf + 5, resource->id, resource->len);
  return g_bytes_new (buf, 5 + resource->len);
}

static gpointer
memory_open (gpointer config_data)
{
  Memory *m = g_new0 (Memory, 1);

  m->slots = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref,
                                    (GDestroyNotify)disco_reload_storage_slot_free);
  return m;
}

static void
memory_close (gpointer backend)
{
  Memory *m = backend;

  g_hash_table_unref (m->slots);
  g_free (m);
}

static DiscoReloadStorageSlot *
memory_lookup (gpointer backend, const DiscoReloadResourceId *resource, DiscoReloadKindId kind)
{
  Memory *m = backend;
  g_autoptr (GBytes) key = slot_key (resource, kind);

  return g_hash_table_lookup (m->slots, key);
}

static void
memory_insert (gpointer backend, DiscoReloadStorageSlot *slot)
{
  Memory *m = backend;

  g_hash_table_replace (m->slots, slot_key (&slot->resource, slot->kind), slot);
}

static void
memory_remove (gpointer backend, const DiscoReloadResourceId *resource, DiscoReloadKindId kind)
{
  Memory *m = backend;
  g_autoptr (GBytes) key = slot_key (resource, kind);

  g_hash_table_remove (m->slots, key);
}

static void
memory_foreach (gpointer backend, DiscoReloadStorageSlotFunc func, gpointer user_data)
{
  Memory *m = backend;
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, m->slots);
  while (g_hash_table_iter_next (&it, NULL, &value))
    if (!func (value, user_data))
      break;
}

static void
memory_changed (gpointer backend, DiscoReloadStorageSlot *slot)
{
  /* Slots are the storage itself: nothing to write back. */
}

static const DiscoReloadStorageBackend memory_backend = {
  memory_open,   memory_close,   memory_lookup,  memory_insert,
  memory_remove, memory_foreach, memory_changed,
};

const DiscoReloadStorageBackend *
disco_reload_storage_memory_backend (void)
{
  return &memory_backend;
}
