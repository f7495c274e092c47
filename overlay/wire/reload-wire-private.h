/* reload-wire-private.h: byte reader/writer shared by the codec's files.
 * Not installed for other areas; use reload-wire.h. */
#pragma once

#include "reload-wire.h"

G_BEGIN_DECLS

/* A bounds-checked cursor over untrusted bytes.  Every read checks the
 * remaining length first, so no read can pass the end of the slice it was
 * given.  @owner (optional) is the GBytes the bytes live in: opaque fields
 * are then returned as zero-copy slices of it. */
typedef struct
{
  const guint8 *data;
  gsize len;
  gsize pos;
  GBytes *owner; /* not owned */
  const DiscoReloadDecodeOptions *options;
} DiscoWireReader;

void disco_wire_reader_init (DiscoWireReader *r, const guint8 *data, gsize len, GBytes *owner);
gboolean disco_wire_read_u8 (DiscoWireReader *r, guint8 *v, const char *what, GError **error);
gboolean disco_wire_read_u16 (DiscoWireReader *r, guint16 *v, const char *what, GError **error);
gboolean disco_wire_read_u24 (DiscoWireReader *r, guint32 *v, const char *what, GError **error);
gboolean disco_wire_read_u32 (DiscoWireReader *r, guint32 *v, const char *what, GError **error);
gboolean disco_wire_read_u64 (DiscoWireReader *r, guint64 *v, const char *what, GError **error);
gboolean disco_wire_read_bool (DiscoWireReader *r, gboolean *v, const char *what, GError **error);
gboolean disco_wire_read_fixed (DiscoWireReader *r, gsize n, const guint8 **p, const char *what,
                                GError **error);
/* Reads a length prefix of @width bytes (1, 2, 3, 4) and returns a
 * sub-reader over exactly that many following bytes, advancing @r past them. */
gboolean disco_wire_read_sub (DiscoWireReader *r, guint width, DiscoWireReader *sub,
                              const char *what, GError **error);
/* opaque<..> with a @width-byte length prefix, as an owned GBytes. */
gboolean disco_wire_read_opaque (DiscoWireReader *r, guint width, GBytes **out, const char *what,
                                 GError **error);
/* opaque<0..2^8-1> as a NUL-terminated string; rejects embedded NUL. */
gboolean disco_wire_read_string8 (DiscoWireReader *r, gchar **out, const char *what,
                                  GError **error);
GBytes *disco_wire_reader_slice (DiscoWireReader *r, gsize start, gsize n);
gboolean disco_wire_reader_done (DiscoWireReader *r, const char *what, GError **error);
static inline gsize
disco_wire_reader_left (const DiscoWireReader *r)
{
  return r->len - r->pos;
}

/* Writers append to a GByteArray. */
void disco_wire_put_u8 (GByteArray *out, guint8 v);
void disco_wire_put_u16 (GByteArray *out, guint16 v);
void disco_wire_put_u24 (GByteArray *out, guint32 v);
void disco_wire_put_u32 (GByteArray *out, guint32 v);
void disco_wire_put_u64 (GByteArray *out, guint64 v);
void disco_wire_put_bytes (GByteArray *out, const guint8 *p, gsize n);
/* Reserves a @width-byte length field; returns its position. */
gsize disco_wire_begin_len (GByteArray *out, guint width);
/* Patches the field reserved at @pos with the bytes written since; fails if
 * they do not fit in @width bytes. */
gboolean disco_wire_end_len (GByteArray *out, gsize pos, guint width, const char *what,
                             GError **error);
gboolean disco_wire_put_opaque (GByteArray *out, guint width, const guint8 *p, gsize n,
                                const char *what, GError **error);
gboolean disco_wire_put_opaque_bytes (GByteArray *out, guint width, GBytes *b, const char *what,
                                      GError **error);
gboolean disco_wire_put_string8 (GByteArray *out, const gchar *s, const char *what, GError **error);

gboolean disco_wire_fail (GError **error, DiscoReloadWireError code, const char *fmt, ...)
    G_GNUC_PRINTF (3, 4);

/* Per-structure codecs used across files. */
gboolean disco_wire_read_node_id (DiscoWireReader *r, DiscoReloadNodeId *id, GError **error);
gboolean disco_wire_read_resource_id (DiscoWireReader *r, DiscoReloadResourceId *rid,
                                      GError **error);
gboolean disco_wire_read_node_id_list (DiscoWireReader *r, guint width, GArray *list,
                                       const char *what, GError **error);
gboolean disco_wire_put_node_id_list (GByteArray *out, guint width, const GArray *list,
                                      const char *what, GError **error);
void disco_wire_put_resource_id (GByteArray *out, const DiscoReloadResourceId *rid);
gboolean disco_wire_read_destination (DiscoWireReader *r, DiscoReloadDestination *d,
                                      GError **error);
gboolean disco_wire_put_destination (GByteArray *out, const DiscoReloadDestination *d,
                                     GError **error);
gboolean disco_wire_read_signer_identity (DiscoWireReader *r, DiscoReloadSignerIdentity *id,
                                          GError **error);
gboolean disco_wire_read_signature (DiscoWireReader *r, DiscoReloadSignature *sig, GError **error);
gboolean disco_wire_read_security_block (DiscoWireReader *r, DiscoReloadSecurityBlock *sb,
                                         GError **error);
gboolean disco_wire_put_security_block (GByteArray *out, const DiscoReloadSecurityBlock *sb,
                                        GError **error);
DiscoReloadDataModel disco_wire_kind_model (const DiscoReloadDecodeOptions *options,
                                            DiscoReloadKindId kind);

/* Storage bodies (reload-wire-storage.c). */
gboolean disco_wire_read_store_req (DiscoWireReader *r, DiscoReloadStoreReq *req, GError **error);
gboolean disco_wire_put_store_req (GByteArray *out, const DiscoReloadStoreReq *req, GError **error);
gboolean disco_wire_read_store_ans (DiscoWireReader *r, DiscoReloadStoreAns *ans, GError **error);
gboolean disco_wire_put_store_ans (GByteArray *out, const DiscoReloadStoreAns *ans, GError **error);
gboolean disco_wire_read_fetch_req (DiscoWireReader *r, DiscoReloadFetchReq *req, GError **error);
gboolean disco_wire_put_fetch_req (GByteArray *out, const DiscoReloadFetchReq *req, GError **error);
gboolean disco_wire_read_fetch_ans (DiscoWireReader *r, DiscoReloadFetchAns *ans, GError **error);
gboolean disco_wire_put_fetch_ans (GByteArray *out, const DiscoReloadFetchAns *ans, GError **error);
gboolean disco_wire_read_stat_ans (DiscoWireReader *r, DiscoReloadStatAns *ans, GError **error);
gboolean disco_wire_put_stat_ans (GByteArray *out, const DiscoReloadStatAns *ans, GError **error);
gboolean disco_wire_read_find_req (DiscoWireReader *r, DiscoReloadFindReq *req, GError **error);
gboolean disco_wire_put_find_req (GByteArray *out, const DiscoReloadFindReq *req, GError **error);
gboolean disco_wire_read_find_ans (DiscoWireReader *r, DiscoReloadFindAns *ans, GError **error);
gboolean disco_wire_put_find_ans (GByteArray *out, const DiscoReloadFindAns *ans, GError **error);

/* Attach / AppAttach (reload-wire-attach.c). */
gboolean disco_wire_read_attach (DiscoWireReader *r, gboolean app_attach, DiscoReloadAttach *a,
                                 GError **error);
gboolean disco_wire_put_attach (GByteArray *out, gboolean app_attach, const DiscoReloadAttach *a,
                                GError **error);

/* Body arms init/clear by message code (reload-wire-types.c). */
void disco_wire_body_init (guint16 code, DiscoReloadBody *body);
void disco_wire_body_clear (guint16 code, DiscoReloadBody *body);

G_END_DECLS
