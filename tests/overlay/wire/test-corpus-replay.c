/* test-corpus-replay.c: runs every seed of the reload-decode fuzz corpus
 * (tests/fuzz/corpus/reload-decode/) through the fuzz target's checks in the
 * normal test suite, so the corpus stays meaningful without clang.
 *
 *   test-wire-corpus-replay --generate DIR   rewrites the seeds from the
 *   encoder (done once; the files are committed). */
#include "reload-wire.h"
#include "wire-test-util.h"

#include <glib/gstdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static const char *
corpus_dir (void)
{
  static gchar *dir;

  if (dir == NULL)
    dir = g_build_filename (g_getenv ("DISCO_SOURCE_DIR") ? g_getenv ("DISCO_SOURCE_DIR") : ".",
                            "tests", "fuzz", "corpus", "reload-decode", NULL);
  return dir;
}

static void
write_seed (const char *dir, const char *name, const guint8 *p, gsize n)
{
  g_autofree gchar *path = g_build_filename (dir, name, NULL);
  g_autoptr (GError) error = NULL;

  if (!g_file_set_contents (path, (const gchar *)p, (gssize)n, &error))
    g_error ("%s", error->message);
}

static void
write_message (const char *dir, const char *name, const DiscoReloadMessage *msg)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();

  if (!disco_reload_message_encode (msg, out, NULL))
    g_error ("encode %s", name);
  write_seed (dir, name, out->data, out->len);
}

static int
generate (const char *dir)
{
  g_mkdir_with_parents (dir, 0755);
  for (gsize i = 0; i < wt_n_codes; i++)
    {
      g_autoptr (DiscoReloadMessage) msg = wt_build (wt_codes[i]);
      g_autofree gchar *name = g_strdup_printf ("msg-%04x", wt_codes[i]);

      write_message (dir, name, msg);
    }
  for (guint16 e = DISCO_RELOAD_ERROR_FORBIDDEN; e <= DISCO_RELOAD_ERROR_INVALID_MESSAGE; e++)
    if (e == DISCO_RELOAD_ERROR_GENERATION_COUNTER_TOO_LOW || e == DISCO_RELOAD_ERROR_UNKNOWN_KIND)
      {
        g_autoptr (DiscoReloadMessage) msg = wt_build_error (e);
        g_autofree gchar *name = g_strdup_printf ("error-%02x", e);

        write_message (dir, name, msg);
      }
  {
    g_autoptr (DiscoReloadMessage) msg = wt_build (DISCO_RELOAD_FETCH_REQ);

    disco_reload_forwarding_header_clear (&msg->header);
    disco_reload_forwarding_header_init (&msg->header);
    wt_header_rich (&msg->header);
    write_message (dir, "rich-header-fetch-req", msg);
  }
  {
    /* Fragments of a Store, each with a 2-byte length prefix: the fuzz
     * target replays such inputs through the reassembler. */
    g_autoptr (DiscoReloadMessage) msg = wt_build (DISCO_RELOAD_STORE_REQ);
    DiscoReloadStoreKindData *kd = g_ptr_array_index (msg->body.store_req.kind_data, 0);
    g_autoptr (GByteArray) out = g_byte_array_new ();
    g_autoptr (GByteArray) seq = g_byte_array_new ();
    g_autoptr (GPtrArray) frags = NULL;

    g_ptr_array_add (kd->values, wt_stored_data (DISCO_RELOAD_DATA_MODEL_DICTIONARY, 7, 1500));
    disco_reload_message_encode (msg, out, NULL);
    frags = disco_reload_message_fragment (out->data, out->len, 600, NULL);
    for (guint i = 0; i < frags->len; i++)
      {
        gsize n;
        const guint8 *p = g_bytes_get_data (g_ptr_array_index (frags, frags->len - 1 - i), &n);
        guint8 len[2] = { (guint8)(n >> 8), (guint8)n };
        g_autofree gchar *name = g_strdup_printf ("fragment-%u", frags->len - 1 - i);

        g_byte_array_append (seq, len, 2);
        g_byte_array_append (seq, p, (guint)n);
        write_seed (dir, name, p, n);
      }
    write_seed (dir, "fragment-sequence", seq->data, seq->len);
  }
  {
    g_autoptr (DiscoReloadStoredData) sd = wt_stored_data (DISCO_RELOAD_DATA_MODEL_ARRAY, 3, 32);
    g_autoptr (GByteArray) out = g_byte_array_new ();

    disco_reload_stored_data_encode (sd, out, NULL);
    write_seed (dir, "stored-data-array", out->data, out->len);
  }
  return 0;
}

static void
test_replay (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) d = g_dir_open (corpus_dir (), 0, &error);
  const char *name;
  guint seeds = 0, messages = 0;

  g_assert_no_error (error);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree gchar *path = g_build_filename (corpus_dir (), name, NULL);
      g_autofree gchar *data = NULL;
      gsize n;
      DiscoReloadMessage *msg = NULL;

      g_assert_true (g_file_get_contents (path, &data, &n, &error));
      LLVMFuzzerTestOneInput ((const guint8 *)data, n);
      seeds++;
      if (g_str_has_prefix (name, "msg-") || g_str_has_prefix (name, "error-")
          || g_str_has_prefix (name, "rich-"))
        {
          /* Seeds made by the encoder must still decode: catches a codec
           * change that silently invalidates the corpus. */
          if (!disco_reload_message_decode (data ? (const guint8 *)data : NULL, n, &msg, &error))
            g_error ("seed %s no longer decodes: %s", name, error->message);
          disco_reload_message_free (msg);
          messages++;
        }
    }
  g_test_message ("%u seeds, %u whole messages", seeds, messages);
  g_assert_cmpuint (messages, >=, wt_n_codes);
}

int
main (int argc, char **argv)
{
  if (argc == 3 && strcmp (argv[1], "--generate") == 0)
    return generate (argv[2]);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/wire/fuzz-corpus/replay", test_replay);
  return g_test_run ();
}
