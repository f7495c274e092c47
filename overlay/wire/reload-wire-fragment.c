/* reload-wire-fragment.c: RELOAD fragmentation and reassembly (RFC 6940
 * §6.7).  Works on wire bytes only: a fragment repeats the forwarding header
 * verbatim with its fragment and length fields patched. */
#define G_LOG_DOMAIN "disco-wire"

#include "reload-wire-private.h"

#include <string.h>

#define MIN_FRAGMENT_PAYLOAD 256
#define DEFAULT_MAX_PENDING 64

static void
patch_u32 (guint8 *p, guint32 v)
{
  p[0] = (guint8)(v >> 24);
  p[1] = (guint8)(v >> 16);
  p[2] = (guint8)(v >> 8);
  p[3] = (guint8)v;
}

/* Decodes and checks the header of a received (fragment) message. */
static gboolean
parse_header (const guint8 *data, gsize len, guint32 *fragment, gsize *header_len, guint64 *txid,
              GError **error)
{
  DiscoReloadForwardingHeader hdr;
  gboolean ok;

  disco_reload_forwarding_header_init (&hdr);
  ok = disco_reload_forwarding_header_decode (data, len, &hdr, header_len, error);
  if (ok && hdr.length != len)
    ok = disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_BAD_LENGTH,
                          "length field %u but %" G_GSIZE_FORMAT " bytes", hdr.length, len);
  *fragment = hdr.fragment;
  *txid = hdr.transaction_id;
  disco_reload_forwarding_header_clear (&hdr);
  return ok;
}

GPtrArray *
disco_reload_message_fragment (const guint8 *data, gsize len, gsize max_fragment_size,
                               GError **error)
{
  g_autoptr (GPtrArray) frags = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  guint32 fragment;
  gsize header_len, payload, avail, n, chunk;
  guint64 txid;

  if (!parse_header (data, len, &fragment, &header_len, &txid, error))
    return NULL;
  if ((fragment & (DISCO_RELOAD_FRAGMENT_LAST_BIT | DISCO_RELOAD_FRAGMENT_OFFSET_MASK))
      != DISCO_RELOAD_FRAGMENT_LAST_BIT)
    {
      disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_FRAGMENTED, "already a fragment");
      return NULL;
    }
  if (len <= max_fragment_size)
    {
      g_ptr_array_add (frags, g_bytes_new (data, len));
      return g_steal_pointer (&frags);
    }
  payload = len - header_len;
  if (max_fragment_size <= header_len || max_fragment_size - header_len < MIN_FRAGMENT_PAYLOAD)
    {
      /* §6.7: a fragment must carry at least 256 bytes of payload; if the
       * link cannot take that, leave fragmentation to IP. */
      disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_ENCODE,
                       "max fragment size %" G_GSIZE_FORMAT " leaves under %d payload bytes",
                       max_fragment_size, MIN_FRAGMENT_PAYLOAD);
      return NULL;
    }
  if (payload > DISCO_RELOAD_FRAGMENT_OFFSET_MASK)
    {
      disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_ENCODE, "message too large to fragment");
      return NULL;
    }
  avail = max_fragment_size - header_len;
  n = (payload + avail - 1) / avail;
  chunk = (payload + n - 1) / n; /* equal-sized fragments, §6.7 */
  for (gsize off = 0; off < payload; off += chunk)
    {
      gsize this_len = MIN (chunk, payload - off);
      guint8 *f = g_malloc (header_len + this_len);
      guint32 field = DISCO_RELOAD_FRAGMENT_BIT | (guint32)off;

      if (off + this_len == payload)
        field |= DISCO_RELOAD_FRAGMENT_LAST_BIT;
      memcpy (f, data, header_len);
      memcpy (f + header_len, data + header_len + off, this_len);
      patch_u32 (f + 12, field);
      patch_u32 (f + 16, (guint32)(header_len + this_len));
      g_ptr_array_add (frags, g_bytes_new_take (f, header_len + this_len));
    }
  return g_steal_pointer (&frags);
}

/* ---- reassembler ---- */

typedef struct
{
  gsize start, end;
} Range;

/* Reassemblies are keyed by where the fragments come from as well, so one
 * link can neither join nor crowd out another link's transactions. */
typedef struct
{
  gconstpointer source;
  guint64 txid;
} Key;

typedef struct
{
  Key key;
  gint64 created_us;
  GBytes *header; /* forwarding header of the last fragment received */
  GByteArray *payload;
  GArray *ranges; /* Range, sorted, non-overlapping, merged */
  gboolean have_last;
  gsize total; /* payload size, once the last fragment is in */
  guint fragments;
  guint16 message_code; /* from the fragment at offset 0; 0 until it came */
} Reassembly;

typedef struct
{
  guint pending;
  gsize bytes; /* payload bytes buffered */
} SourceUse;

struct _DiscoReloadReassembler
{
  gsize max_message_size;
  gint64 timeout_us;
  guint max_pending;
  guint max_fragments;
  guint max_pending_per_source; /* 0: only the global bound */
  gsize max_bytes_per_source;   /* 0: unbounded */
  GHashTable *pending;          /* Key* -> Reassembly* */
  GHashTable *refused;          /* Key* (owned) -> gint64* expiry: too large, rest dropped */
  GHashTable *use;              /* source -> SourceUse* */
  GHashTable *transit;          /* Key* (owned) -> Transit*: fragments passed on whole */
};

typedef struct
{
  guint16 code;
  gint64 expires_us;
} Transit;

#define MAX_TRANSIT 4096

static guint
key_hash (gconstpointer p)
{
  const Key *k = p;
  return g_int64_hash (&k->txid) ^ g_direct_hash (k->source);
}

static gboolean
key_equal (gconstpointer a, gconstpointer b)
{
  const Key *x = a, *y = b;
  return x->txid == y->txid && x->source == y->source;
}

static SourceUse *
source_use (DiscoReloadReassembler *r, gconstpointer source)
{
  SourceUse *u = g_hash_table_lookup (r->use, source);

  if (u == NULL)
    {
      u = g_new0 (SourceUse, 1);
      g_hash_table_insert (r->use, (gpointer)source, u);
    }
  return u;
}

/* Removes a reassembly and gives its budget back to its source. */
static void
drop_reassembly (DiscoReloadReassembler *r, Reassembly *ra)
{
  SourceUse *u = g_hash_table_lookup (r->use, ra->key.source);

  if (u)
    {
      u->pending--;
      u->bytes -= ra->payload->len;
      if (u->pending == 0)
        g_hash_table_remove (r->use, ra->key.source);
    }
  g_hash_table_remove (r->pending, &ra->key);
}

static void
reassembly_free (Reassembly *ra)
{
  g_clear_pointer (&ra->header, g_bytes_unref);
  g_clear_pointer (&ra->payload, g_byte_array_unref);
  g_clear_pointer (&ra->ranges, g_array_unref);
  g_free (ra);
}

DiscoReloadReassembler *
disco_reload_reassembler_new (gsize max_message_size, gint64 timeout_us, guint max_pending)
{
  DiscoReloadReassembler *r = g_new0 (DiscoReloadReassembler, 1);

  r->max_message_size
      = max_message_size > 0 ? max_message_size : DISCO_RELOAD_DEFAULT_MAX_MESSAGE_SIZE;
  r->timeout_us = timeout_us > 0 ? timeout_us : DISCO_RELOAD_REASSEMBLY_TIMEOUT_US;
  r->max_pending = max_pending > 0 ? max_pending : DEFAULT_MAX_PENDING;
  /* Equal-sized fragments of >= 256 bytes cannot need more than this; more
   * is a peer trying to make us track many tiny ranges. */
  r->max_fragments = (guint)MAX (16, r->max_message_size / MIN_FRAGMENT_PAYLOAD + 2);
  r->pending = g_hash_table_new_full (key_hash, key_equal, NULL, (GDestroyNotify)reassembly_free);
  r->refused = g_hash_table_new_full (key_hash, key_equal, g_free, g_free);
  r->use = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  r->transit = g_hash_table_new_full (key_hash, key_equal, g_free, g_free);
  return r;
}

guint16
disco_reload_reassembler_transit_code (DiscoReloadReassembler *r, gconstpointer source,
                                       const guint8 *data, gsize len, gsize header_len,
                                       gint64 now_us)
{
  Key key;
  Transit *t;
  guint32 fragment;
  guint16 code = 0;

  if (len < 28 || header_len > len)
    return 0;
  fragment = (guint32)data[12] << 24 | (guint32)data[13] << 16 | (guint32)data[14] << 8 | data[15];
  key.source = source;
  key.txid = 0;
  for (int i = 0; i < 8; i++)
    key.txid = key.txid << 8 | data[20 + i];
  if ((fragment & DISCO_RELOAD_FRAGMENT_OFFSET_MASK) == 0)
    {
      if (len < header_len + 2)
        return 0;
      code = (guint16)(data[header_len] << 8 | data[header_len + 1]);
      if (fragment & DISCO_RELOAD_FRAGMENT_LAST_BIT)
        return code;
      if (g_hash_table_size (r->transit) >= MAX_TRANSIT)
        {
          GHashTableIter it;
          gpointer v;
          g_hash_table_iter_init (&it, r->transit);
          while (g_hash_table_iter_next (&it, NULL, &v))
            if (((Transit *)v)->expires_us <= now_us)
              g_hash_table_iter_remove (&it);
          if (g_hash_table_size (r->transit) >= MAX_TRANSIT)
            return 0;
        }
      t = g_new (Transit, 1);
      t->code = code;
      t->expires_us = now_us + r->timeout_us;
      g_hash_table_replace (r->transit, g_memdup2 (&key, sizeof key), t);
      return code;
    }
  t = g_hash_table_lookup (r->transit, &key);
  if (t == NULL || t->expires_us <= now_us)
    {
      g_hash_table_remove (r->transit, &key);
      return 0;
    }
  code = t->code;
  if (fragment & DISCO_RELOAD_FRAGMENT_LAST_BIT)
    g_hash_table_remove (r->transit, &key);
  return code;
}

void
disco_reload_reassembler_set_source_limits (DiscoReloadReassembler *r, guint max_pending,
                                            gsize max_bytes)
{
  r->max_pending_per_source = max_pending;
  r->max_bytes_per_source = max_bytes;
}

void
disco_reload_reassembler_forget (DiscoReloadReassembler *r, gconstpointer source)
{
  GHashTableIter it;
  gpointer k, v;

  g_hash_table_iter_init (&it, r->pending);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (((Key *)k)->source == source)
      g_hash_table_iter_remove (&it);
  g_hash_table_iter_init (&it, r->refused);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (((Key *)k)->source == source)
      g_hash_table_iter_remove (&it);
  g_hash_table_iter_init (&it, r->transit);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (((Key *)k)->source == source)
      g_hash_table_iter_remove (&it);
  g_hash_table_remove (r->use, source);
}

guint
disco_reload_reassembler_pending_from (DiscoReloadReassembler *r, gconstpointer source)
{
  SourceUse *u = g_hash_table_lookup (r->use, source);
  return u ? u->pending : 0;
}

gsize
disco_reload_reassembler_bytes_from (DiscoReloadReassembler *r, gconstpointer source)
{
  SourceUse *u = g_hash_table_lookup (r->use, source);
  return u ? u->bytes : 0;
}

void
disco_reload_reassembler_free (DiscoReloadReassembler *r)
{
  if (r == NULL)
    return;
  g_hash_table_unref (r->pending);
  g_hash_table_unref (r->refused);
  g_hash_table_unref (r->use);
  g_hash_table_unref (r->transit);
  g_free (r);
}

guint
disco_reload_reassembler_pending (DiscoReloadReassembler *r)
{
  return g_hash_table_size (r->pending);
}

guint
disco_reload_reassembler_expire (DiscoReloadReassembler *r, gint64 now_us)
{
  GHashTableIter it;
  Reassembly *ra;
  guint n = 0;

  gpointer v;
  g_autoptr (GPtrArray) old = g_ptr_array_new ();

  g_hash_table_iter_init (&it, r->pending);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *)&ra))
    if (now_us - ra->created_us >= r->timeout_us)
      g_ptr_array_add (old, ra);
  for (guint i = 0; i < old->len; i++)
    drop_reassembly (r, g_ptr_array_index (old, i));
  n = old->len;
  g_hash_table_iter_init (&it, r->refused);
  while (g_hash_table_iter_next (&it, NULL, &v))
    if (*(gint64 *)v <= now_us)
      g_hash_table_iter_remove (&it);
  g_hash_table_iter_init (&it, r->transit);
  while (g_hash_table_iter_next (&it, NULL, &v))
    if (((Transit *)v)->expires_us <= now_us)
      g_hash_table_iter_remove (&it);
  return n;
}

/* Adds [start, end) to the merged range list; returns FALSE when it overlaps
 * already received bytes that differ. */
static gboolean
add_range (Reassembly *ra, gsize start, const guint8 *p, gsize n)
{
  gsize end = start + n;
  guint i;

  for (i = 0; i < ra->ranges->len; i++)
    {
      Range *g = &g_array_index (ra->ranges, Range, i);
      gsize lo = MAX (g->start, start), hi = MIN (g->end, end);

      /* Identical bytes are a retransmission (same transaction id); only a
       * disagreement is an attack or corruption. */
      if (lo < hi && memcmp (ra->payload->data + lo, p + (lo - start), hi - lo) != 0)
        return FALSE;
    }
  if (ra->payload->len < end)
    g_byte_array_set_size (ra->payload, (guint)end);
  memcpy (ra->payload->data + start, p, n);

  /* Insert and merge. */
  for (i = 0; i < ra->ranges->len && g_array_index (ra->ranges, Range, i).start < start; i++)
    ;
  {
    Range nr = { start, end };

    g_array_insert_val (ra->ranges, i, nr);
  }
  for (i = 0; i + 1 < ra->ranges->len;)
    {
      Range *a = &g_array_index (ra->ranges, Range, i);
      Range *b = &g_array_index (ra->ranges, Range, i + 1);

      if (b->start <= a->end)
        {
          a->end = MAX (a->end, b->end);
          g_array_remove_index (ra->ranges, i + 1);
        }
      else
        i++;
    }
  return TRUE;
}

gboolean
disco_reload_reassembler_add (DiscoReloadReassembler *r, const guint8 *data, gsize len,
                              gint64 now_us, GBytes **complete, GError **error)
{
  return disco_reload_reassembler_add_from (r, NULL, data, len, now_us, complete, NULL, error);
}

gboolean
disco_reload_reassembler_add_from (DiscoReloadReassembler *r, gconstpointer source,
                                   const guint8 *data, gsize len, gint64 now_us, GBytes **complete,
                                   guint16 *message_code, GError **error)
{
  guint32 fragment;
  gsize header_len, offset, n;
  guint64 txid;
  gboolean last;
  Reassembly *ra;
  Key key;
  SourceUse *u;
  gsize grown;

  g_return_val_if_fail (complete != NULL, FALSE);
  *complete = NULL;
  if (message_code)
    *message_code = 0;
  disco_reload_reassembler_expire (r, now_us);

  if (len > r->max_message_size)
    return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_MESSAGE_TOO_LARGE,
                            "fragment of %" G_GSIZE_FORMAT " bytes exceeds max-message-size", len);
  if (!parse_header (data, len, &fragment, &header_len, &txid, error))
    return FALSE;
  offset = fragment & DISCO_RELOAD_FRAGMENT_OFFSET_MASK;
  last = (fragment & DISCO_RELOAD_FRAGMENT_LAST_BIT) != 0;
  n = len - header_len;
  if (offset == 0 && last)
    {
      *complete = g_bytes_new (data, len);
      return TRUE;
    }
  if (message_code && offset == 0 && n >= 2)
    *message_code = (guint16)(data[header_len] << 8 | data[header_len + 1]);

  key.source = source;
  key.txid = txid;
  if (g_hash_table_contains (r->refused, &key))
    return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_REASSEMBLY,
                            "transaction %016" G_GINT64_MODIFIER "x was refused as too large",
                            txid);
  ra = g_hash_table_lookup (r->pending, &key);
  if (ra == NULL)
    {
      if (g_hash_table_size (r->pending) >= r->max_pending)
        return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_REASSEMBLY,
                                "too many reassemblies in progress (%u)", r->max_pending);
      if (r->max_pending_per_source
          && disco_reload_reassembler_pending_from (r, source) >= r->max_pending_per_source)
        return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_REASSEMBLY,
                                "too many reassemblies in progress from one link (%u)",
                                r->max_pending_per_source);
      ra = g_new0 (Reassembly, 1);
      ra->key = key;
      ra->created_us = now_us;
      ra->payload = g_byte_array_new ();
      ra->ranges = g_array_new (FALSE, FALSE, sizeof (Range));
      g_hash_table_insert (r->pending, &ra->key, ra);
      source_use (r, source)->pending++;
    }
  if (message_code && *message_code == 0)
    *message_code = ra->message_code;
  else if (message_code)
    ra->message_code = *message_code;

  if (header_len + offset + n > r->max_message_size)
    {
      Key *k = g_memdup2 (&key, sizeof key);
      gint64 *until = g_new (gint64, 1);

      /* The rest of this transaction is dropped without more reports. */
      *until = ra->created_us + r->timeout_us;
      g_hash_table_replace (r->refused, k, until);
      drop_reassembly (r, ra);
      return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_MESSAGE_TOO_LARGE,
                              "reassembled message would exceed max-message-size %" G_GSIZE_FORMAT,
                              r->max_message_size);
    }
  u = source_use (r, source);
  grown = offset + n > ra->payload->len ? offset + n - ra->payload->len : 0;
  if (r->max_bytes_per_source && u->bytes + grown > r->max_bytes_per_source)
    {
      drop_reassembly (r, ra);
      return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_REASSEMBLY,
                              "one link's pending fragments would exceed %" G_GSIZE_FORMAT " bytes",
                              r->max_bytes_per_source);
    }
  if ((ra->have_last && (offset + n > ra->total || (last && offset + n != ra->total)))
      || (last && offset + n < ra->payload->len) || n == 0 || ++ra->fragments > r->max_fragments
      || !add_range (ra, offset, data + header_len, n))
    {
      drop_reassembly (r, ra);
      return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_REASSEMBLY,
                              "inconsistent fragment (offset %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT
                              " bytes%s) for transaction %016" G_GINT64_MODIFIER "x",
                              offset, n, last ? ", last" : "", txid);
    }
  u->bytes += grown;
  if (last)
    {
      ra->have_last = TRUE;
      ra->total = offset + n;
    }
  g_clear_pointer (&ra->header, g_bytes_unref);
  ra->header = g_bytes_new (data, header_len);

  if (ra->have_last && ra->ranges->len == 1 && g_array_index (ra->ranges, Range, 0).start == 0
      && g_array_index (ra->ranges, Range, 0).end == ra->total)
    {
      gsize hlen;
      const guint8 *h = g_bytes_get_data (ra->header, &hlen);
      guint8 *msg = g_malloc (hlen + ra->total);

      memcpy (msg, h, hlen);
      memcpy (msg + hlen, ra->payload->data, ra->total);
      patch_u32 (msg + 12, DISCO_RELOAD_FRAGMENT_UNFRAGMENTED);
      patch_u32 (msg + 16, (guint32)(hlen + ra->total));
      *complete = g_bytes_new_take (msg, hlen + ra->total);
      if (message_code)
        *message_code = ra->message_code;
      drop_reassembly (r, ra);
    }
  return TRUE;
}
