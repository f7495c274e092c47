/* bench-security.c: cost of RELOAD signatures and of storing values, on one core.
 *
 * Measures, with a 2048-bit RSA self-signed identity:
 *  - StoredData sign (input building + RSA PKCS#1 v1.5 / SHA-256) and
 *    verify (identity lookup, trust check (cached), RSA verify);
 *  - message sign / verify for a small Ping;
 *  - the raw OpenSSL RSA sign / verify of the same input: the baseline, so
 *    the report shows the RELOAD overhead as a ratio;
 *  - Store throughput (signature verification + access control + insert) and
 *    heap bytes per stored value (glibc mallinfo2 delta) for 100-byte values,
 *    against the payload + signature bytes the value must carry anyway.
 *
 *   bench-security [--seconds S] [--values N]   (defaults 1 s, 2000 values) */
#include "reload-signature.h"
#include "reload-storage.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>

#define KIND 0xF0000002u
#define ROUNDS 5

static double seconds = 1.0;
static guint n_values = 2000;

static const char config_xml[]
    = "<overlay xmlns=\"urn:ietf:params:xml:ns:p2p:config-base\">"
      "<configuration instance-name=\"bench.example.org\">"
      "<self-signed-permitted digest=\"sha256\">true</self-signed-permitted><required-kinds>"
      "<kind-block><kind id=\"4026531842\"><data-model>ARRAY</data-model>"
      "<access-control>USER-MATCH</access-control><max-count>1000000</max-count>"
      "<max-size>1024</max-size></kind></kind-block></required-kinds></configuration></overlay>";

typedef gboolean (*OpFunc) (gpointer data);

/* Runs @op until @seconds elapsed; returns microseconds per op. */
static double
measure (OpFunc op, gpointer data, guint *count)
{
  gint64 start = g_get_monotonic_time (), now;
  guint n = 0;

  do
    {
      for (int i = 0; i < 8; i++, n++)
        if (!op (data))
          g_error ("benchmark operation failed");
      now = g_get_monotonic_time ();
    }
  while (now - start < seconds * G_USEC_PER_SEC);
  if (count)
    *count = n;
  return (double)(now - start) / n;
}

typedef struct
{
  DiscoReloadIdentity *id;
  DiscoReloadTrust *trust;
  DiscoReloadCertPool *pool;
  DiscoReloadResourceId rid;
  DiscoReloadStoredData *sd;
  DiscoReloadMessage *msg;
  GByteArray *input;
  GBytes *raw_sig;
} Ctx;

static gboolean
op_sd_sign (gpointer data)
{
  Ctx *c = data;
  return disco_reload_sign_stored_data (c->id, NULL, &c->rid, KIND, c->sd, NULL);
}

static gboolean
op_sd_verify (gpointer data)
{
  Ctx *c = data;
  return disco_reload_verify_stored_data (c->trust, c->pool, &c->rid, KIND, c->sd, NULL, NULL);
}

static gboolean
op_msg_sign (gpointer data)
{
  Ctx *c = data;
  return disco_reload_sign_message (c->id, NULL, c->msg, NULL);
}

static gboolean
op_msg_verify (gpointer data)
{
  Ctx *c = data;
  return disco_reload_verify_message (c->trust, NULL, c->msg, NULL, 0, NULL, NULL);
}

static gboolean
op_raw_sign (gpointer data)
{
  Ctx *c = data;
  g_autoptr (GBytes) s
      = disco_reload_identity_sign_bytes (c->id, c->input->data, c->input->len, NULL);
  return s != NULL;
}

static gboolean
op_raw_verify (gpointer data)
{
  Ctx *c = data;
  return disco_reload_cert_verify_bytes (c->id->cert, c->input->data, c->input->len, c->raw_sig,
                                         NULL);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  GOptionEntry entries[] = {
    { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "seconds per measurement", "S" },
    { "values", 0, 0, G_OPTION_ARG_INT, &n_values, "values stored for the memory figure", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) octx = g_option_context_new ("- RELOAD signature and storage cost");
  g_autoptr (DiscoReloadConfig) config = NULL;
  g_autoptr (DiscoReloadStorage) storage = NULL;
  g_autoptr (GPtrArray) values = NULL;
  Ctx c = { 0 };
  double sd_sign, sd_verify, msg_sign, msg_verify, raw_sign, raw_verify, store_us;
  struct mallinfo2 before, after;
  gint64 t0, t1;
  gsize payload = 0;

  g_option_context_add_main_entries (octx, entries, NULL);
  if (!g_option_context_parse (octx, &argc, &argv, &error))
    g_error ("%s", error->message);

  config = disco_reload_config_parse (config_xml, strlen (config_xml), NULL, "bench", &error);
  g_assert_no_error (error);
  c.id = disco_reload_identity_new_self_signed ("bench@example.org", "bench.example.org",
                                                DISCO_RELOAD_DIGEST_SHA256, 1, 2048, 0, &error);
  g_assert_no_error (error);
  c.trust = disco_reload_trust_new (config, &error);
  c.pool = disco_reload_cert_pool_new ();
  disco_reload_cert_pool_add (c.pool, c.id->cert);
  disco_reload_resource_id_from_name ((const guint8 *)"bench@example.org", 17, &c.rid);

  c.sd = disco_reload_stored_data_new (DISCO_RELOAD_DATA_MODEL_ARRAY);
  c.sd->storage_time = g_get_real_time () / 1000;
  c.sd->lifetime = 3600;
  c.sd->value.value = g_bytes_new_take (g_malloc0 (100), 100);
  c.msg = disco_reload_message_new (DISCO_RELOAD_PING_REQ);
  c.msg->body.ping_req.padding = g_bytes_new_take (g_malloc0 (32), 32);
  c.input = g_byte_array_new ();
  {
    DiscoReloadSignerIdentity ident;
    disco_reload_identity_signer_identity (c.id, NULL, &ident, NULL);
    disco_reload_stored_data_signature_input (&c.rid, KIND, c.sd, &ident, c.input, NULL);
    disco_reload_signer_identity_clear (&ident);
  }
  c.raw_sig = disco_reload_identity_sign_bytes (c.id, c.input->data, c.input->len, NULL);

  /* The machine is shared: interleave the measurements in rounds and keep
   * each operation's best round, so load spikes hit baseline and subject
   * alike instead of skewing the ratios. */
  {
    OpFunc ops[]
        = { op_raw_sign, op_raw_verify, op_sd_sign, op_sd_verify, op_msg_sign, op_msg_verify };
    double best[G_N_ELEMENTS (ops)];
    double total = seconds;

    seconds = total / ROUNDS;
    for (gsize k = 0; k < G_N_ELEMENTS (ops); k++)
      best[k] = G_MAXDOUBLE;
    for (int r = 0; r < ROUNDS; r++)
      for (gsize k = 0; k < G_N_ELEMENTS (ops); k++)
        best[k] = MIN (best[k], measure (ops[k], &c, NULL));
    seconds = total;
    raw_sign = best[0], raw_verify = best[1], sd_sign = best[2], sd_verify = best[3];
    msg_sign = best[4], msg_verify = best[5];
  }

  printf ("RSA-2048 PKCS#1 v1.5 / SHA-256, one core, best of %d rounds of %.2f s\n", ROUNDS,
          seconds / ROUNDS);
  printf ("  baseline raw sign          %8.1f us/op\n", raw_sign);
  printf ("  baseline raw verify        %8.1f us/op\n", raw_verify);
  printf ("  StoredData sign            %8.1f us/op  (%.2fx baseline)\n", sd_sign,
          sd_sign / raw_sign);
  printf ("  StoredData verify          %8.1f us/op  (%.2fx baseline)\n", sd_verify,
          sd_verify / raw_verify);
  printf ("  message sign (Ping)        %8.1f us/op  (%.2fx baseline)\n", msg_sign,
          msg_sign / raw_sign);
  printf ("  message verify (Ping)      %8.1f us/op  (%.2fx baseline)\n", msg_verify,
          msg_verify / raw_verify);

  /* Store n values (signed beforehand, so the store figure excludes signing). */
  storage = disco_reload_storage_new (config, c.trust, NULL, NULL);
  values = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_stored_data_unref);
  g_ptr_array_set_size (values, n_values);
  g_ptr_array_set_size (values, 0);
  malloc_trim (0);
  before = mallinfo2 ();
  for (guint i = 0; i < n_values; i++)
    {
      DiscoReloadStoredData *sd = disco_reload_stored_data_new (DISCO_RELOAD_DATA_MODEL_ARRAY);
      guint8 *v = g_malloc (100);

      memset (v, (int)i, 100);
      sd->storage_time = g_get_real_time () / 1000;
      sd->lifetime = 3600;
      sd->value.index = i;
      sd->value.value = g_bytes_new_take (v, 100);
      disco_reload_sign_stored_data (c.id, NULL, &c.rid, KIND, sd, NULL);
      payload += 100 + g_bytes_get_size (sd->signature.value)
                 + g_bytes_get_size (sd->signature.identity.hash);
      g_ptr_array_add (values, sd);
    }
  t0 = g_get_monotonic_time ();
  for (guint i = 0; i < n_values; i++)
    {
      DiscoReloadStoreReq req = { 0 };
      DiscoReloadStoreKindData *kd = disco_reload_store_kind_data_new (KIND, 0);
      DiscoReloadStoreAns ans;
      DiscoReloadErrorResponse err = { 0 };

      req.resource = c.rid;
      req.kind_data
          = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_store_kind_data_free);
      g_ptr_array_add (kd->values, disco_reload_stored_data_ref (values->pdata[i]));
      g_ptr_array_add (req.kind_data, kd);
      disco_reload_store_ans_init (&ans);
      if (!disco_reload_storage_store (storage, &req, c.pool, NULL, &ans, &err))
        g_error ("store %u failed: %u", i, err.error_code);
      disco_reload_store_ans_clear (&ans);
      g_ptr_array_unref (req.kind_data);
    }
  t1 = g_get_monotonic_time ();
  /* The storage now holds the only other reference: drop ours and measure
   * what the stored values cost on the heap, StoredData included. */
  g_ptr_array_set_size (values, 0);
  malloc_trim (0);
  after = mallinfo2 ();
  store_us = (double)(t1 - t0) / n_values;
  printf ("  Store (verify+ACL+insert)  %8.1f us/op  (%.2fx verify baseline)\n", store_us,
          store_us / raw_verify);
  {
    /* Everything the storage holds per value: StoredData, GBytes, entry,
     * tree node (the values array's own buffer was preallocated above). */
    double per = (double)((gssize)after.uordblks - (gssize)before.uordblks) / n_values;
    double need = (double)payload / n_values;
    printf ("  heap per stored value      %8.0f bytes  (%.2fx the %.0f bytes of "
            "value+signature+identity)\n",
            per, per / need, need);
  }
  g_assert (disco_reload_storage_count (storage) == n_values);

  g_byte_array_unref (c.input);
  g_bytes_unref (c.raw_sig);
  disco_reload_message_free (c.msg);
  disco_reload_stored_data_unref (c.sd);
  disco_reload_cert_pool_free (c.pool);
  g_clear_pointer (&storage, disco_reload_storage_free);
  disco_reload_trust_free (c.trust);
  disco_reload_identity_unref (c.id);
  return 0;
}
