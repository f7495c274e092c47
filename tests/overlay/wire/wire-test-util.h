/* wire-test-util.h: message builders shared by the wire codec tests, the
 * tshark check and the corpus generator.  Every builder returns a message
 * with distinctive, checkable field values. */
#pragma once

#include "reload-wire.h"

G_BEGIN_DECLS

#define WT_OVERLAY 0x1ee7c0deu
#define WT_TXID G_GUINT64_CONSTANT (0x0123456789abcdef)

void wt_node_id (DiscoReloadNodeId *id, guint8 seed);
void wt_resource_id (DiscoReloadResourceId *rid, guint8 seed);
/* Default header: one node destination, empty via list. */
void wt_header_basic (DiscoReloadForwardingHeader *hdr, guint8 dest_seed);
/* Via list with node, compressed and opaque entries; destination list ending
 * in a resource; one forwarding option. */
void wt_header_rich (DiscoReloadForwardingHeader *hdr);
DiscoReloadStoredData *wt_stored_data (DiscoReloadDataModel model, guint8 seed, gsize value_len);

/* One populated message per message code in wt_codes. */
extern const guint16 wt_codes[];
extern const gsize wt_n_codes;
DiscoReloadMessage *wt_build (guint16 code);
/* Error responses for every error code (with structured info where defined). */
DiscoReloadMessage *wt_build_error (guint16 error_code);

DiscoReloadDataModel wt_kind_model (DiscoReloadKindId kind, gpointer user_data);

G_END_DECLS
