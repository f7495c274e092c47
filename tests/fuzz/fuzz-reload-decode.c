/* fuzz-reload-decode.c: libFuzzer target for the RELOAD wire decoder.
 *
 * Feeds untrusted bytes to every decoding entry point: the whole-message
 * decoder (with and without a kind -> data model lookup), the header-only
 * decoder, the wire signature input, StoredData, destination lists, and the
 * reassembler.  A successful decode must re-encode and decode again to the
 * same bytes, which catches decoder/encoder disagreements, not only crashes. */
#include "reload-wire.h"

#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static DiscoReloadDataModel
kind_model (DiscoReloadKindId kind, gpointer user_data)
{
  return kind == DISCO_RELOAD_KIND_DISCO_TEST ? DISCO_RELOAD_DATA_MODEL_DICTIONARY
                                              : DISCO_RELOAD_DATA_MODEL_UNKNOWN;
}

static void
check_reencode (const DiscoReloadMessage *msg, const guint8 *data, size_t size)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();

  if (!disco_reload_message_encode (msg, out, NULL))
    g_error ("decoded message does not re-encode");
  if (out->len != size || memcmp (out->data, data, size) != 0)
    g_error ("re-encoding differs from the input (%u vs %zu bytes)", out->len, size);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  static const guint16 known_ext[] = { 0x2 };
  DiscoReloadDecodeOptions opts = {
    .max_message_size = 1 << 20,
    .kind_model = kind_model,
    .known_extensions = known_ext,
    .n_known_extensions = 1,
  };
  g_autoptr (GBytes) bytes = g_bytes_new (data, size);
  DiscoReloadMessage *msg = NULL;

  if (disco_reload_message_decode_full (bytes, &opts, &msg, NULL))
    {
      g_autoptr (GByteArray) tbs = g_byte_array_new ();

      check_reencode (msg, data, size);
      if (!disco_reload_message_signature_input_from_wire (data, size, tbs, NULL))
        g_error ("signature input fails on a message that decodes");
      disco_reload_message_free (msg);
    }
  msg = NULL;
  if (disco_reload_message_decode (data, size, &msg, NULL))
    {
      check_reencode (msg, data, size);
      disco_reload_message_free (msg);
    }

  {
    DiscoReloadForwardingHeader hdr;
    gsize hlen;

    disco_reload_forwarding_header_init (&hdr);
    if (disco_reload_forwarding_header_decode (data, size, &hdr, &hlen, NULL))
      g_assert (hlen <= size && hdr.length <= size);
    disco_reload_forwarding_header_clear (&hdr);
  }
  {
    g_autoptr (GByteArray) tbs = g_byte_array_new ();

    disco_reload_message_signature_input_from_wire (data, size, tbs, NULL);
  }
  for (int model = 0; model <= 3; model++)
    {
      DiscoReloadStoredData *sd = disco_reload_stored_data_decode (data, size, model, NULL);

      if (sd != NULL && model == DISCO_RELOAD_DATA_MODEL_UNKNOWN)
        disco_reload_stored_data_resolve (sd, DISCO_RELOAD_DATA_MODEL_ARRAY, NULL);
      disco_reload_stored_data_unref (sd);
    }
  {
    g_autoptr (GArray) list = g_array_new (FALSE, TRUE, sizeof (DiscoReloadDestination));

    disco_reload_destination_list_decode (data, size, list, NULL);
  }
  {
    /* The input as a sequence of fragments: 2-byte length prefixes. */
    g_autoptr (DiscoReloadReassembler) r = disco_reload_reassembler_new (1 << 16, 0, 4);
    size_t off = 0;
    gint64 now = 0;

    while (off + 2 <= size)
      {
        size_t n = (size_t)data[off] << 8 | data[off + 1];
        GBytes *complete = NULL;

        off += 2;
        if (n > size - off)
          n = size - off;
        if (disco_reload_reassembler_add (r, data + off, n, now, &complete, NULL) && complete)
          {
            DiscoReloadMessage *m = NULL;

            if (disco_reload_message_decode_full (complete, &opts, &m, NULL))
              disco_reload_message_free (m);
            g_bytes_unref (complete);
          }
        off += n;
        now += G_USEC_PER_SEC;
      }
  }
  return 0;
}
