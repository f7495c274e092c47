/* bench-codec.c: RELOAD wire codec throughput on one core.
 *
 * Encodes and decodes a StoreReq and a FetchAns each carrying one 1 KiB
 * dictionary value of the private DisCo test kind (signed with a cert_hash
 * identity and a 256-byte RSA-sized signature, no crypto: signature cost is
 * the security area's benchmark), plus the header-only decode a forwarding
 * peer does.  Baseline measured in the same run: copying the encoded bytes
 * (g_bytes_new), i.e. the least any decoder must do.
 *
 *   bench-codec [--seconds S]   (default 1 s per measurement) */
#include "reload-wire.h"

#include <stdio.h>
#include <string.h>

static double seconds = 1.0;

static DiscoReloadDataModel
kind_model (DiscoReloadKindId kind, gpointer user_data)
{
  return DISCO_RELOAD_DATA_MODEL_DICTIONARY;
}

static void
sign (DiscoReloadSignature *sig)
{
  guint8 h[32];

  memset (h, 0x42, sizeof h);
  disco_reload_signature_clear (sig);
  sig->hash_alg = DISCO_RELOAD_HASH_SHA256;
  sig->sig_alg = DISCO_RELOAD_SIG_RSA;
  sig->identity.type = DISCO_RELOAD_SIGNER_IDENTITY_CERT_HASH;
  sig->identity.hash_alg = DISCO_RELOAD_HASH_SHA256;
  sig->identity.hash = g_bytes_new (h, sizeof h);
  sig->value = g_bytes_new_take (g_malloc0 (256), 256);
}

static DiscoReloadStoredData *
value_1k (void)
{
  DiscoReloadStoredData *sd = disco_reload_stored_data_new (DISCO_RELOAD_DATA_MODEL_DICTIONARY);
  guint8 key[16];

  memset (key, 0x11, sizeof key);
  sd->storage_time = G_GUINT64_CONSTANT (1700000000000);
  sd->lifetime = 3600;
  sd->value.key = g_bytes_new (key, sizeof key);
  sd->value.value = g_bytes_new_take (g_malloc0 (1024), 1024);
  sign (&sd->signature);
  return sd;
}

static void
header (DiscoReloadMessage *msg)
{
  DiscoReloadDestination d;
  DiscoReloadResourceId rid;
  guint8 r[16];

  memset (r, 0xab, sizeof r);
  disco_reload_resource_id_set (&rid, r, sizeof r);
  disco_reload_destination_set_resource (&d, &rid);
  g_array_append_val (msg->header.destination_list, d);
  msg->header.overlay = 0x1ee7c0de;
  msg->header.transaction_id = 42;
  sign (&msg->security.signature);
}

static DiscoReloadMessage *
store_req (void)
{
  DiscoReloadMessage *msg = disco_reload_message_new (DISCO_RELOAD_STORE_REQ);
  DiscoReloadStoreKindData *kd = disco_reload_store_kind_data_new (DISCO_RELOAD_KIND_DISCO_TEST, 0);
  guint8 r[16];

  header (msg);
  memset (r, 0xab, sizeof r);
  disco_reload_resource_id_set (&msg->body.store_req.resource, r, sizeof r);
  g_ptr_array_add (kd->values, value_1k ());
  g_ptr_array_add (msg->body.store_req.kind_data, kd);
  return msg;
}

static DiscoReloadMessage *
fetch_ans (void)
{
  DiscoReloadMessage *msg = disco_reload_message_new (DISCO_RELOAD_FETCH_ANS);
  DiscoReloadFetchKindResponse *kr
      = disco_reload_fetch_kind_response_new (DISCO_RELOAD_KIND_DISCO_TEST, 7);

  header (msg);
  g_ptr_array_add (kr->values, value_1k ());
  g_ptr_array_add (msg->body.fetch_ans.kind_responses, kr);
  return msg;
}

typedef void (*OpFunc) (gpointer data);

/* Runs @op until @seconds of monotonic time have passed; returns ops/s. */
static double
measure (OpFunc op, gpointer data)
{
  gint64 start = g_get_monotonic_time (), end = start + (gint64)(seconds * G_USEC_PER_SEC), now;
  guint64 n = 0;

  do
    {
      for (guint i = 0; i < 256; i++)
        op (data);
      n += 256;
      now = g_get_monotonic_time ();
    }
  while (now < end);
  return (double)n * G_USEC_PER_SEC / (double)(now - start);
}

typedef struct
{
  DiscoReloadMessage *msg;
  GByteArray *buf;
  GBytes *wire;
  DiscoReloadDecodeOptions opts;
} Ctx;

static void
op_encode (gpointer data)
{
  Ctx *c = data;

  g_byte_array_set_size (c->buf, 0);
  if (!disco_reload_message_encode (c->msg, c->buf, NULL))
    g_error ("encode failed");
}

static void
op_decode (gpointer data)
{
  Ctx *c = data;
  gsize n;
  const guint8 *p = g_bytes_get_data (c->wire, &n);
  g_autoptr (GBytes) copy = g_bytes_new (p, n); /* as from a socket buffer */
  DiscoReloadMessage *m = NULL;

  if (!disco_reload_message_decode_full (copy, &c->opts, &m, NULL))
    g_error ("decode failed");
  disco_reload_message_free (m);
}

static void
op_header (gpointer data)
{
  Ctx *c = data;
  gsize n, hlen;
  const guint8 *p = g_bytes_get_data (c->wire, &n);
  DiscoReloadForwardingHeader hdr;

  disco_reload_forwarding_header_init (&hdr);
  if (!disco_reload_forwarding_header_decode (p, n, &hdr, &hlen, NULL))
    g_error ("header decode failed");
  disco_reload_forwarding_header_clear (&hdr);
}

static void
op_copy (gpointer data)
{
  Ctx *c = data;
  gsize n;
  const guint8 *p = g_bytes_get_data (c->wire, &n);
  GBytes *copy = g_bytes_new (p, n);

  g_bytes_unref (copy);
}

static void
run (const char *name, DiscoReloadMessage *msg)
{
  Ctx c = { msg, g_byte_array_new (), NULL, { .kind_model = kind_model } };
  double enc, dec, hdr, copy;
  gsize size;

  op_encode (&c);
  c.wire = g_bytes_new (c.buf->data, c.buf->len);
  size = c.buf->len;
  copy = measure (op_copy, &c);
  enc = measure (op_encode, &c);
  dec = measure (op_decode, &c);
  hdr = measure (op_header, &c);
  printf ("%-10s %5" G_GSIZE_FORMAT " B  encode %9.0f msg/s (%6.1f MB/s)  decode %9.0f msg/s "
          "(%6.1f MB/s)  header-only %9.0f msg/s  | baseline copy %9.0f/s: one encode = %.1f "
          "copies, one decode = %.1f\n",
          name, size, enc, enc * size / 1e6, dec, dec * size / 1e6, hdr, copy, copy / enc,
          copy / dec);
  g_bytes_unref (c.wire);
  g_byte_array_unref (c.buf);
}

int
main (int argc, char **argv)
{
  g_autoptr (DiscoReloadMessage) store = NULL;
  g_autoptr (DiscoReloadMessage) fetch = NULL;
  GOptionEntry entries[] = {
    { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "seconds per measurement", "S" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- RELOAD codec benchmark");
  g_autoptr (GError) error = NULL;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  store = store_req ();
  fetch = fetch_ans ();
  printf ("RELOAD codec, one core, 1 KiB dictionary value, %.1f s per figure\n", seconds);
  run ("StoreReq", store);
  run ("FetchAns", fetch);
  return 0;
}
