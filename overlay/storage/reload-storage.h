/* reload-storage.h: the data a storing peer holds (RFC 6940 §7) and the
 * Store / Fetch / Stat / Find request handlers.
 *
 * The node hands decoded wire structs in and gets wire structs (or an
 * ErrorResponse) out:
 *
 *   DiscoReloadStoreReq -> DiscoReloadStoreAns | ErrorResponse
 *   DiscoReloadFetchReq -> DiscoReloadFetchAns (+ the signers' certificates)
 *   DiscoReloadFetchReq (Stat) -> DiscoReloadStatAns
 *   DiscoReloadFindReq  -> DiscoReloadFindAns
 *
 * Every Store verifies each StoredData signature against the trust anchors
 * and applies the kind's access policy (reload-access.h) before anything is
 * written; a StoreReq is atomic.  Generation counters, storage_time
 * ordering, lifetimes (on an injectable clock), max-count / max-size and
 * exists=false deletions follow RFC 6940 §7.4.  Replication is not done
 * here: replica_number is honoured (generation taken from the request), and
 * disco_reload_storage_foreach() lets the topology layer copy data out.
 *
 * Persistence is pluggable through DiscoReloadStorageBackend; the default
 * keeps everything in memory.
 *
 * Ownership: DiscoReloadStorage is a plain struct with _free; it keeps
 * references on the config and trust it was given.  Handlers never take
 * ownership of the request; answers are appended to caller-owned structs.
 */
#pragma once

#include <glib.h>

#include "reload-cert.h"
#include "reload-config.h"
#include "reload-signature.h"
#include "reload-wire.h"

G_BEGIN_DECLS

/* One stored value with what the storing peer learnt when it accepted it. */
typedef struct
{
  DiscoReloadStoredData *sd; /* owned reference, exactly as received */
  gint64 expires_ms;         /* receipt time + lifetime, on the storage clock */
  DiscoReloadCert *signer;   /* owned reference: returned with Fetch answers */
  DiscoReloadNodeId signer_node;
} DiscoReloadStorageEntry;

DiscoReloadStorageEntry *disco_reload_storage_entry_new (DiscoReloadStoredData *sd,
                                                         gint64 expires_ms, DiscoReloadCert *signer,
                                                         const DiscoReloadNodeId *signer_node);
void disco_reload_storage_entry_free (DiscoReloadStorageEntry *e);

/* All values of one kind at one Resource-ID. */
typedef struct
{
  DiscoReloadResourceId resource;
  DiscoReloadKindId kind;
  DiscoReloadDataModel model;
  guint64 generation;
  DiscoReloadStorageEntry *single; /* SINGLE */
  GTree *entries; /* ARRAY: GUINT_TO_POINTER(index) ->; DICTIONARY: GBytes* key -> entry */
} DiscoReloadStorageSlot;

DiscoReloadStorageSlot *disco_reload_storage_slot_new (const DiscoReloadResourceId *resource,
                                                       DiscoReloadKindId kind,
                                                       DiscoReloadDataModel model);
void disco_reload_storage_slot_free (DiscoReloadStorageSlot *slot);

typedef gboolean (*DiscoReloadStorageSlotFunc) (DiscoReloadStorageSlot *slot, gpointer user_data);

/* Where slots live.  The in-memory backend is disco_reload_storage_memory_backend(). */
typedef struct
{
  gpointer (*open) (gpointer config_data);
  void (*close) (gpointer backend);
  /* Borrowed slot, or NULL. */
  DiscoReloadStorageSlot *(*lookup) (gpointer backend, const DiscoReloadResourceId *resource,
                                     DiscoReloadKindId kind);
  /* Takes ownership of @slot (replacing any slot with the same resource/kind). */
  void (*insert) (gpointer backend, DiscoReloadStorageSlot *slot);
  void (*remove) (gpointer backend, const DiscoReloadResourceId *resource, DiscoReloadKindId kind);
  /* Calls @func for every slot until it returns FALSE.  @func must not
   * insert or remove slots; collect and act afterwards. */
  void (*foreach) (gpointer backend, DiscoReloadStorageSlotFunc func, gpointer user_data);
  /* Called after a slot obtained from lookup() was modified in place. */
  void (*changed) (gpointer backend, DiscoReloadStorageSlot *slot);
} DiscoReloadStorageBackend;

const DiscoReloadStorageBackend *disco_reload_storage_memory_backend (void);

/* Milliseconds since 1970 (the unit of storage_time). */
typedef gint64 (*DiscoReloadStorageClock) (gpointer user_data);

typedef struct _DiscoReloadStorage DiscoReloadStorage;

/* @backend NULL = in memory.  Keeps a reference on @config; @trust is
 * borrowed and must outlive the storage. */
DiscoReloadStorage *disco_reload_storage_new (DiscoReloadConfig *config, DiscoReloadTrust *trust,
                                              const DiscoReloadStorageBackend *backend,
                                              gpointer backend_config);
void disco_reload_storage_free (DiscoReloadStorage *storage);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoReloadStorage, disco_reload_storage_free)

/* Replaces the wall clock (tests, simulations).  NULL restores it. */
void disco_reload_storage_set_clock (DiscoReloadStorage *storage, DiscoReloadStorageClock clock,
                                     gpointer user_data);
gint64 disco_reload_storage_now_ms (DiscoReloadStorage *storage);

/* Swaps in a new configuration (after a ConfigUpdate). */
void disco_reload_storage_set_config (DiscoReloadStorage *storage, DiscoReloadConfig *config);

/* Handles a StoreReq.  @certs: the certificates of the request's security
 * block (may be NULL).  @request_signer: the verified signer of the StoreReq
 * message; for original stores (replica_number 0) it must satisfy the kind's
 * access policy as well (NULL skips that check, for locally made stores).
 * @req may be modified: values the decoder left undecoded are resolved with
 * the configured data model.
 * Returns TRUE with @ans filled (initialised by the caller), or FALSE with
 * @err filled (zero-initialised by the caller; for
 * GENERATION_COUNTER_TOO_LOW err->store_ans carries the current counters,
 * for UNKNOWN_KIND err->unknown_kinds the offending kinds). */
gboolean disco_reload_storage_store (DiscoReloadStorage *storage, DiscoReloadStoreReq *req,
                                     const DiscoReloadCertPool *certs,
                                     const DiscoReloadSigner *request_signer,
                                     DiscoReloadStoreAns *ans, DiscoReloadErrorResponse *err);

/* Handles a FetchReq.  @ans->kind_responses must exist.  @certificates (may
 * be NULL) is a DiscoReloadGenericCertificate* array (e.g. the answer's
 * security block) that gets the certificates of every returned signer not
 * already in it. */
gboolean disco_reload_storage_fetch (DiscoReloadStorage *storage, DiscoReloadFetchReq *req,
                                     DiscoReloadFetchAns *ans, GPtrArray *certificates,
                                     DiscoReloadErrorResponse *err);

/* Handles a StatReq (same layout as FetchReq).  MetaData hashes are
 * SHA-256 over DataValue.value including its 4 length bytes. */
gboolean disco_reload_storage_stat (DiscoReloadStorage *storage, DiscoReloadFetchReq *req,
                                    DiscoReloadStatAns *ans, DiscoReloadErrorResponse *err);

/* Handles a FindReq: per kind, the smallest stored Resource-ID >= the
 * requested one (16 zero bytes when none). */
gboolean disco_reload_storage_find (DiscoReloadStorage *storage, const DiscoReloadFindReq *req,
                                    DiscoReloadFindAns *ans, DiscoReloadErrorResponse *err);

/* The certificates stored as live CERTIFICATE_BY_NODE / _BY_USER values
 * (RFC 6940 §8), for resolving signer identities of messages and values
 * that do not carry their certificate; it falls back to the signers of
 * stored values.  Borrowed: valid as long as @storage (the pointer stays
 * the same, its contents follow stores and expiry). */
const DiscoReloadCertPool *disco_reload_storage_get_certificates (DiscoReloadStorage *storage);

/* Drops expired values and empty slots; returns how many values went. */
guint disco_reload_storage_expire (DiscoReloadStorage *storage);

/* Live (unexpired) values, deletion markers included. */
guint disco_reload_storage_count (DiscoReloadStorage *storage);

/* For replication / handover: @func gets each slot's resource, kind,
 * generation and a StoreKindData whose values carry the REMAINING lifetime
 * (RFC 6940 §7.4.1.1).  The StoreKindData is freed after the call.
 * ACCESS-CONTROL-LIST slots are reported before all others, so copies sent
 * in this order pass the receiver's ShaRe checks. */
typedef void (*DiscoReloadStorageForeachFunc) (const DiscoReloadResourceId *resource,
                                               DiscoReloadStoreKindData *kind_data,
                                               gpointer user_data);
void disco_reload_storage_foreach (DiscoReloadStorage *storage, DiscoReloadStorageForeachFunc func,
                                   gpointer user_data);
void disco_reload_storage_remove_resource (DiscoReloadStorage *storage,
                                           const DiscoReloadResourceId *resource);

/* The decode callback for DiscoReloadDecodeOptions.kind_model:
 * @user_data is a DiscoReloadConfig*. */
DiscoReloadDataModel disco_reload_config_kind_model (DiscoReloadKindId kind, gpointer user_data);

G_END_DECLS
