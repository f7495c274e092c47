/* reload-config-write.c: serializes a DiscoReloadConfig back to XML, for
 * ConfigUpdate and for the enrollment server serving the document. */
#define G_LOG_DOMAIN "disco-reload-config"

#include "reload-config.h"

#include <string.h>

#include <libxml/xmlwriter.h>

#define W(call)                                                                                    \
  G_STMT_START                                                                                     \
  {                                                                                                \
    if ((call) < 0)                                                                                \
      goto fail;                                                                                   \
  }                                                                                                \
  G_STMT_END

static int
write_elem (xmlTextWriterPtr w, const char *name, const char *text)
{
  return xmlTextWriterWriteElement (w, BAD_CAST name, BAD_CAST text);
}

static int
write_uint (xmlTextWriterPtr w, const char *name, guint64 v)
{
  char buf[32];

  g_snprintf (buf, sizeof buf, "%" G_GUINT64_FORMAT, v);
  return write_elem (w, name, buf);
}

static int
write_bool (xmlTextWriterPtr w, const char *name, gboolean v)
{
  return write_elem (w, name, v ? "true" : "false");
}

static int
write_patterns (xmlTextWriterPtr w, const char *elem, gboolean enabled, char **patterns)
{
  if (xmlTextWriterStartElement (w, BAD_CAST elem) < 0
      || xmlTextWriterWriteAttribute (w, BAD_CAST "enable", BAD_CAST (enabled ? "true" : "false"))
             < 0)
    return -1;
  for (char **p = patterns; p && *p; p++)
    {
      g_autofree char *name = g_strdup (elem);
      char *colon = strchr (name, ':');
      g_autofree char *pat
          = g_strdup_printf ("%.*spattern", colon ? (int)(colon - name + 1) : 0, name);
      if (write_elem (w, pat, *p) < 0)
        return -1;
    }
  return xmlTextWriterEndElement (w);
}

static int
write_kind (xmlTextWriterPtr w, const DiscoReloadKindConfig *k, gboolean declare_ns)
{
  char buf[16];

  if (xmlTextWriterStartElement (w, BAD_CAST "kind-block") < 0)
    return -1;
  /* A stand-alone kind-block (ConfigUpdate) carries its namespaces. */
  if (declare_ns
      && (xmlTextWriterWriteAttribute (w, BAD_CAST "xmlns", BAD_CAST DISCO_RELOAD_NS_BASE) < 0
          || xmlTextWriterWriteAttribute (w, BAD_CAST "xmlns:share", BAD_CAST DISCO_RELOAD_NS_SHARE)
                 < 0
          || xmlTextWriterWriteAttribute (w, BAD_CAST "xmlns:sip", BAD_CAST DISCO_RELOAD_NS_SIP)
                 < 0))
    return -1;
  if (xmlTextWriterStartElement (w, BAD_CAST "kind") < 0)
    return -1;
  if (k->name)
    {
      if (xmlTextWriterWriteAttribute (w, BAD_CAST "name", BAD_CAST k->name) < 0)
        return -1;
    }
  else
    {
      g_snprintf (buf, sizeof buf, "%u", k->id);
      if (xmlTextWriterWriteAttribute (w, BAD_CAST "id", BAD_CAST buf) < 0)
        return -1;
    }
  if (write_elem (w, "data-model", disco_reload_data_model_to_string (k->data_model)) < 0
      || write_elem (w, "access-control",
                     k->access == DISCO_RELOAD_ACCESS_UNKNOWN && k->access_name
                         ? k->access_name
                         : disco_reload_access_policy_to_string (k->access))
             < 0
      || write_uint (w, "max-count", k->max_count) < 0
      || write_uint (w, "max-size", k->max_size) < 0)
    return -1;
  if (k->max_node_multiple && write_uint (w, "max-node-multiple", k->max_node_multiple) < 0)
    return -1;
  if ((k->variable_names || (k->patterns && k->patterns[0]))
      && write_patterns (w, "share:variable-resource-names", k->variable_names, k->patterns) < 0)
    return -1;
  if (k->has_domain_restriction
      && write_patterns (w, "sip:domain-restriction", k->domain_restriction_enabled,
                         k->domain_patterns)
             < 0)
    return -1;
  if (xmlTextWriterEndElement (w) < 0)
    return -1;
  if (k->kind_signature && write_elem (w, "kind-signature", k->kind_signature) < 0)
    return -1;
  return xmlTextWriterEndElement (w);
}

static int
write_list (xmlTextWriterPtr w, const char *name, GPtrArray *list)
{
  for (guint i = 0; i < list->len; i++)
    if (write_elem (w, name, g_ptr_array_index (list, i)) < 0)
      return -1;
  return 0;
}

char *
disco_reload_config_to_xml (const DiscoReloadConfig *c, gsize *len_out)
{
  xmlBufferPtr buf = xmlBufferCreate ();
  xmlTextWriterPtr w = xmlNewTextWriterMemory (buf, 0);
  char num[32];
  char *out = NULL;

  g_return_val_if_fail (c->instance_name != NULL, NULL);

  xmlTextWriterSetIndent (w, 1);
  xmlTextWriterSetIndentString (w, BAD_CAST "  ");
  W (xmlTextWriterStartDocument (w, "1.0", "UTF-8", NULL));
  W (xmlTextWriterStartElement (w, BAD_CAST "overlay"));

  if (c->signature && c->configuration_xml)
    {
      /* A signed configuration must go out byte for byte as it was signed,
       * in the namespace context it was written in. */
      for (guint i = 0; i + 1 < c->root_xmlns->len; i += 2)
        {
          const char *prefix = g_ptr_array_index (c->root_xmlns, i);
          g_autofree char *attr = g_strconcat ("xmlns", prefix[0] ? ":" : "", prefix, NULL);
          W (xmlTextWriterWriteAttribute (w, BAD_CAST attr,
                                          BAD_CAST g_ptr_array_index (c->root_xmlns, i + 1)));
        }
      W (xmlTextWriterWriteRawLen (w, g_bytes_get_data (c->configuration_xml, NULL),
                                   (int)g_bytes_get_size (c->configuration_xml)));
      W (write_elem (w, "signature", c->signature));
      W (xmlTextWriterEndDocument (w));
      goto done;
    }

  W (xmlTextWriterWriteAttribute (w, BAD_CAST "xmlns", BAD_CAST DISCO_RELOAD_NS_BASE));
  W (xmlTextWriterWriteAttribute (w, BAD_CAST "xmlns:chord", BAD_CAST DISCO_RELOAD_NS_CHORD));
  W (xmlTextWriterWriteAttribute (w, BAD_CAST "xmlns:share", BAD_CAST DISCO_RELOAD_NS_SHARE));
  W (xmlTextWriterWriteAttribute (w, BAD_CAST "xmlns:sip", BAD_CAST DISCO_RELOAD_NS_SIP));
  if (c->plaintext_test_links)
    W (xmlTextWriterWriteAttribute (w, BAD_CAST "xmlns:disco", BAD_CAST DISCO_RELOAD_NS_DISCO));

  W (xmlTextWriterStartElement (w, BAD_CAST "configuration"));
  W (xmlTextWriterWriteAttribute (w, BAD_CAST "instance-name", BAD_CAST c->instance_name));
  g_snprintf (num, sizeof num, "%u", c->sequence);
  W (xmlTextWriterWriteAttribute (w, BAD_CAST "sequence", BAD_CAST num));
  if (c->expiration)
    W (xmlTextWriterWriteAttribute (w, BAD_CAST "expiration", BAD_CAST c->expiration));

  W (write_elem (w, "topology-plugin", c->topology_plugin));
  W (write_uint (w, "node-id-length", c->node_id_length));
  for (guint i = 0; i < c->root_certs->len; i++)
    {
      GBytes *der = g_ptr_array_index (c->root_certs, i);
      g_autofree char *b64 = g_base64_encode (g_bytes_get_data (der, NULL), g_bytes_get_size (der));
      W (write_elem (w, "root-cert", b64));
    }
  W (write_list (w, "enrollment-server", c->enrollment_servers));
  W (xmlTextWriterStartElement (w, BAD_CAST "self-signed-permitted"));
  W (xmlTextWriterWriteAttribute (
      w, BAD_CAST "digest",
      BAD_CAST (c->self_signed_digest == DISCO_RELOAD_DIGEST_SHA256 ? "sha256" : "sha1")));
  W (xmlTextWriterWriteString (w, BAD_CAST (c->self_signed_permitted ? "true" : "false")));
  W (xmlTextWriterEndElement (w));
  for (guint i = 0; i < c->bootstrap_nodes->len; i++)
    {
      DiscoReloadBootstrapNode *b = g_ptr_array_index (c->bootstrap_nodes, i);
      W (xmlTextWriterStartElement (w, BAD_CAST "bootstrap-node"));
      W (xmlTextWriterWriteAttribute (w, BAD_CAST "address", BAD_CAST b->address));
      g_snprintf (num, sizeof num, "%u", b->port);
      W (xmlTextWriterWriteAttribute (w, BAD_CAST "port", BAD_CAST num));
      W (xmlTextWriterEndElement (w));
    }
  W (write_uint (w, "turn-density", c->turn_density));
  W (write_bool (w, "clients-permitted", c->clients_permitted));
  W (write_bool (w, "no-ice", c->no_ice));
  W (write_uint (w, "chord:chord-update-interval", c->chord_update_interval));
  W (write_uint (w, "chord:chord-ping-interval", c->chord_ping_interval));
  W (write_bool (w, "chord:chord-reactive", c->chord_reactive));
  if (c->plaintext_test_links)
    W (write_bool (w, "disco:plaintext-test-links", TRUE));
  if (c->shared_secret)
    W (write_elem (w, "shared-secret", c->shared_secret));
  W (write_uint (w, "max-message-size", c->max_message_size));
  W (write_uint (w, "initial-ttl", c->initial_ttl));
  W (write_uint (w, "overlay-reliability-timer", c->overlay_reliability_timer));
  W (write_list (w, "overlay-link-protocol", c->link_protocols));
  W (write_list (w, "configuration-signer", c->configuration_signers));
  W (write_list (w, "kind-signer", c->kind_signers));
  W (write_list (w, "bad-node", c->bad_nodes));
  W (write_list (w, "mandatory-extension", c->mandatory_extensions));
  if (c->kinds->len > 0)
    {
      W (xmlTextWriterStartElement (w, BAD_CAST "required-kinds"));
      for (guint i = 0; i < c->kinds->len; i++)
        W (write_kind (w, g_ptr_array_index (c->kinds, i), FALSE));
      W (xmlTextWriterEndElement (w));
    }
  W (xmlTextWriterEndDocument (w));

done:
  xmlFreeTextWriter (w);
  w = NULL;
  out = g_strndup ((const char *)xmlBufferContent (buf), xmlBufferLength (buf));
  if (len_out)
    *len_out = xmlBufferLength (buf);
  xmlBufferFree (buf);
  return out;

fail:
  /* Only allocation failure gets here: libxml2's writer has no other error. */
  g_critical ("failed to serialize overlay configuration");
  if (w)
    xmlFreeTextWriter (w);
  xmlBufferFree (buf);
  if (len_out)
    *len_out = 0;
  return NULL;
}

char *
disco_reload_kind_config_to_xml (const DiscoReloadKindConfig *kind, gsize *len_out)
{
  xmlBufferPtr buf = xmlBufferCreate ();
  xmlTextWriterPtr w = xmlNewTextWriterMemory (buf, 0);
  char *out = NULL;

  /* No XML declaration: the block is embedded in a ConfigUpdate as is. */
  if (write_kind (w, kind, TRUE) < 0 || xmlTextWriterEndDocument (w) < 0)
    g_critical ("failed to serialize kind-block");
  xmlFreeTextWriter (w);
  out = g_strndup ((const char *)xmlBufferContent (buf), xmlBufferLength (buf));
  if (len_out)
    *len_out = strlen (out);
  xmlBufferFree (buf);
  return out;
}
