/* fuzz-reload-config.c: libFuzzer target for the overlay configuration
 * parser (untrusted: documents arrive by ConfigUpdate and over HTTPS).
 *
 * A document that parses must serialize, and the serialization must parse
 * again to the same essential values, which catches writer/parser
 * disagreements, not only crashes.  Trust anchors from an accepted document
 * are also fed to the certificate code. */
#include "reload-config.h"
#include "reload-signature.h"

#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static void
quiet_log (const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer user_data)
{
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  static gboolean init;
  g_autoptr (DiscoReloadConfig) c = NULL;
  g_autoptr (DiscoReloadConfig) back = NULL;
  g_autoptr (DiscoReloadTrust) trust = NULL;
  g_autofree char *xml = NULL;
  gsize len = 0;

  if (!init)
    {
      /* The parser warns about odd-but-legal input; keep the output readable. */
      g_log_set_handler ("disco-reload-config", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_DEBUG, quiet_log,
                         NULL);
      init = TRUE;
    }
  /* The same bytes as a ConfigUpdate kind-block. */
  {
    DiscoReloadKindConfig *k
        = disco_reload_kind_config_parse ((const char *)data, size, "fuzz", NULL);
    if (k != NULL)
      {
        gsize klen = 0;
        g_autofree char *kxml = disco_reload_kind_config_to_xml (k, &klen);
        DiscoReloadKindConfig *k2 = disco_reload_kind_config_parse (kxml, klen, "fuzz-out", NULL);

        if (k2 == NULL || k2->id != k->id || k2->data_model != k->data_model
            || k2->access != k->access || k2->max_count != k->max_count
            || k2->max_size != k->max_size)
          g_error ("kind-block round trip changed kind %u", k->id);
        disco_reload_kind_config_free (k2);
        disco_reload_kind_config_free (k);
      }
  }

  c = disco_reload_config_parse ((const char *)data, size, NULL, "fuzz", NULL);
  if (c == NULL)
    return 0;

  xml = disco_reload_config_to_xml (c, &len);
  if (xml == NULL)
    g_error ("parsed configuration does not serialize");
  if (len > DISCO_RELOAD_CONFIG_MAX_BYTES)
    return 0; /* indentation can push a document near the limit over it */
  back = disco_reload_config_parse (xml, len, c->instance_name, "fuzz-out", NULL);
  if (back == NULL)
    g_error ("serialized configuration does not parse again");
  if (g_strcmp0 (back->instance_name, c->instance_name) != 0 || back->sequence != c->sequence
      || back->overlay_hash != c->overlay_hash || back->kinds->len != c->kinds->len
      || back->root_certs->len != c->root_certs->len
      || back->self_signed_permitted != c->self_signed_permitted
      || back->node_id_length != c->node_id_length
      || back->bootstrap_nodes->len != c->bootstrap_nodes->len)
    g_error ("round trip changed the configuration");
  for (guint i = 0; i < c->kinds->len; i++)
    {
      const DiscoReloadKindConfig *a = g_ptr_array_index (c->kinds, i);
      const DiscoReloadKindConfig *b = disco_reload_config_find_kind (back, a->id);
      if (b == NULL || b->data_model != a->data_model || b->access != a->access
          || b->max_count != a->max_count || b->max_size != a->max_size)
        g_error ("round trip changed kind %u", a->id);
    }

  /* Root certificates are DER from the document: must fail cleanly. */
  trust = disco_reload_trust_new (c, NULL);
  return 0;
}
