/* Tests for the RFC 6940 overlay configuration parser and writer. */
#include <string.h>

#include <glib/gstdio.h>

#include "reload-config.h"

static const char full_doc[]
    = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                             /* 1 */
      "<overlay xmlns=\"urn:ietf:params:xml:ns:p2p:config-base\"\n"              /* 2 */
      "    xmlns:chord=\"urn:ietf:params:xml:ns:p2p:config-chord\"\n"            /* 3 */
      "    xmlns:share=\"urn:ietf:params:xml:ns:p2p:config-base:share\"\n"       /* 4 */
      "    xmlns:sip=\"urn:ietf:params:xml:ns:p2p:config-base:sip\">\n"          /* 5 */
      "  <configuration instance-name=\"other.example.net\" sequence=\"9\">\n"   /* 6 */
      "    <self-signed-permitted>true</self-signed-permitted>\n"                /* 7 */
      "  </configuration>\n"                                                     /* 8 */
      "  <configuration instance-name=\"overlay.example.org\" sequence=\"22\"\n" /* 9 */
      "      expiration=\"2030-01-01T00:00:00Z\">\n"
      "    <topology-plugin> CHORD-RELOAD </topology-plugin>\n"
      "    <node-id-length>16</node-id-length>\n"
      "    <root-cert>MIIBAgMEBQ==</root-cert>\n"
      "    <enrollment-server>https://enroll.example.org/enrol</enrollment-server>\n"
      "    <self-signed-permitted digest=\"sha256\">0</self-signed-permitted>\n"
      "    <bootstrap-node address=\"192.0.2.1\" port=\"6085\"/>\n"
      "    <bootstrap-node address=\"2001:db8::1\"/>\n"
      "    <turn-density>3</turn-density>\n"
      "    <clients-permitted>false</clients-permitted>\n"
      "    <no-ice>1</no-ice>\n"
      "    <chord:chord-update-interval>400</chord:chord-update-interval>\n"
      "    <chord:chord-ping-interval>30</chord:chord-ping-interval>\n"
      "    <chord:chord-reactive>false</chord:chord-reactive>\n"
      "    <max-message-size>4000</max-message-size>\n"
      "    <initial-ttl>30</initial-ttl>\n"
      "    <overlay-reliability-timer>500</overlay-reliability-timer>\n"
      "    <overlay-link-protocol>TLS</overlay-link-protocol>\n"
      "    <overlay-link-protocol>DTLS</overlay-link-protocol>\n"
      "    <configuration-signer>47112162E84C69BA</configuration-signer>\n"
      "    <kind-signer>47112162e84c69ba</kind-signer>\n"
      "    <bad-node>6eba45d31a900c06</bad-node>\n"
      "    "
      "<mandatory-extension>urn:ietf:params:xml:ns:p2p:config-base:share</mandatory-extension>\n"
      "    <required-kinds>\n"
      "      <kind-block>\n"
      "        <kind name=\"SIP-REGISTRATION\">\n"
      "          <data-model>SINGLE</data-model>\n"
      "          <access-control>NODE-MATCH</access-control>\n"
      "          <max-count>10</max-count><max-size>1000</max-size>\n"
      "          <sip:domain-restriction enable=\"true\">\n"
      "            <sip:pattern>.*example\\.org</sip:pattern>\n"
      "          </sip:domain-restriction>\n"
      "        </kind>\n"
      "        <kind-signature>VGhpcyBpcyBub3QgcmVhbA==</kind-signature>\n"
      "      </kind-block>\n"
      "      <kind-block>\n"
      "        <kind id=\"4026535189\">\n"
      "          <data-model>DICTIONARY</data-model>\n"
      "          <access-control>USER-CHAIN-ACL</access-control>\n"
      "          <max-count>32</max-count><max-size>512</max-size>\n"
      "          <share:variable-resource-names enable=\"true\">\n"
      "            <share:pattern>.*-conf-$USER@$DOMAIN</share:pattern>\n"
      "            <share:pattern>$USER-room@$DOMAIN</share:pattern>\n"
      "          </share:variable-resource-names>\n"
      "        </kind>\n"
      "      </kind-block>\n"
      "      <kind-block>\n"
      "        <kind id=\"4026535190\">\n"
      "          <data-model>ARRAY</data-model>\n"
      "          <access-control>EXP-MATCH</access-control>\n"
      "          <max-count>1</max-count><max-size>1</max-size>\n"
      "        </kind>\n"
      "      </kind-block>\n"
      "    </required-kinds>\n"
      "  </configuration>\n"
      "  <signature>c2lnbmF0dXJl</signature>\n"
      "</overlay>\n";

static void
test_default (void)
{
  g_autoptr (DiscoReloadConfig) c = disco_reload_config_new_default ();
  const DiscoReloadKindConfig *k;

  g_assert_cmpstr (c->instance_name, ==, "disco.example.org");
  g_assert_true (c->self_signed_permitted);
  g_assert_cmpint (c->self_signed_digest, ==, DISCO_RELOAD_DIGEST_SHA256);
  g_assert_true (c->no_ice);
  g_assert_cmpstr (c->topology_plugin, ==, "CHORD-RELOAD");
  g_assert_cmpuint (c->node_id_length, ==, 16);
  g_assert_cmpuint (c->kinds->len, ==, 5);

  k = disco_reload_config_find_kind (c, DISCO_RELOAD_KIND_DISCO_REGISTRATION);
  g_assert_nonnull (k);
  g_assert_null (k->name);
  g_assert_cmpint (k->data_model, ==, DISCO_RELOAD_DATA_MODEL_DICTIONARY);
  g_assert_cmpint (k->access, ==, DISCO_RELOAD_ACCESS_USER_CHAIN_ACL);
  g_assert_cmpuint (k->max_count, ==, 32);
  g_assert_cmpuint (k->max_size, ==, 512);
  g_assert_true (k->variable_names);
  g_assert_cmpstr (k->patterns[0], ==, ".*-conf-$USER@$DOMAIN");
  g_assert_null (k->patterns[1]);

  k = disco_reload_config_find_kind (c, 4);
  g_assert_nonnull (k);
  g_assert_cmpstr (k->name, ==, "ACCESS-CONTROL-LIST");
  g_assert_cmpint (k->data_model, ==, DISCO_RELOAD_DATA_MODEL_ARRAY);
  g_assert_cmpint (k->access, ==, DISCO_RELOAD_ACCESS_USER_CHAIN_ACL);
  g_assert_cmpstr (k->patterns[0], ==, ".*-conf-$USER@$DOMAIN");
  g_assert_cmpint (disco_reload_config_find_kind (c, 1)->access, ==,
                   DISCO_RELOAD_ACCESS_USER_NODE_MATCH);
  g_assert_cmpint (disco_reload_config_find_kind (c, 3)->access, ==,
                   DISCO_RELOAD_ACCESS_NODE_MATCH);
  g_assert_cmpint (disco_reload_config_find_kind (c, 16)->access, ==,
                   DISCO_RELOAD_ACCESS_USER_MATCH);
  g_assert_null (disco_reload_config_find_kind (c, 2));
}

static void
test_overlay_hash (void)
{
  /* Independent computation with GChecksum: last 4 bytes of SHA-1. */
  const char *name = "disco.example.org";
  g_autoptr (GChecksum) ck = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 md[20];
  gsize n = sizeof md;
  g_autoptr (DiscoReloadConfig) c = disco_reload_config_new_default ();

  g_checksum_update (ck, (const guchar *)name, -1);
  g_checksum_get_digest (ck, md, &n);
  g_assert_cmpuint (c->overlay_hash, ==, GUINT32_FROM_BE (*(guint32 *)(md + 16)));
  disco_reload_config_set_instance_name (c, "example.org");
  g_assert_cmpuint (c->overlay_hash, !=, GUINT32_FROM_BE (*(guint32 *)(md + 16)));
}

static void
check_full (const DiscoReloadConfig *c)
{
  const DiscoReloadKindConfig *k;
  DiscoReloadBootstrapNode *b;

  g_assert_cmpstr (c->instance_name, ==, "overlay.example.org");
  g_assert_cmpuint (c->sequence, ==, 22);
  g_assert_cmpstr (c->expiration, ==, "2030-01-01T00:00:00Z");
  g_assert_cmpuint (c->node_id_length, ==, 16);
  g_assert_cmpuint (c->root_certs->len, ==, 1);
  g_assert_cmpuint (g_bytes_get_size (g_ptr_array_index (c->root_certs, 0)), ==, 7);
  g_assert_cmpstr (g_ptr_array_index (c->enrollment_servers, 0), ==,
                   "https://enroll.example.org/enrol");
  g_assert_false (c->self_signed_permitted);
  g_assert_cmpint (c->self_signed_digest, ==, DISCO_RELOAD_DIGEST_SHA256);
  g_assert_cmpuint (c->bootstrap_nodes->len, ==, 2);
  b = g_ptr_array_index (c->bootstrap_nodes, 0);
  g_assert_cmpstr (b->address, ==, "192.0.2.1");
  g_assert_cmpuint (b->port, ==, 6085);
  b = g_ptr_array_index (c->bootstrap_nodes, 1);
  g_assert_cmpstr (b->address, ==, "2001:db8::1");
  g_assert_cmpuint (b->port, ==, 6084);
  g_assert_cmpuint (c->turn_density, ==, 3);
  g_assert_false (c->clients_permitted);
  g_assert_true (c->no_ice);
  g_assert_cmpuint (c->chord_update_interval, ==, 400);
  g_assert_cmpuint (c->chord_ping_interval, ==, 30);
  g_assert_false (c->chord_reactive);
  g_assert_cmpuint (c->max_message_size, ==, 4000);
  g_assert_cmpuint (c->initial_ttl, ==, 30);
  g_assert_cmpuint (c->overlay_reliability_timer, ==, 500);
  g_assert_cmpuint (c->link_protocols->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (c->configuration_signers, 0), ==, "47112162e84c69ba");
  g_assert_cmpstr (g_ptr_array_index (c->kind_signers, 0), ==, "47112162e84c69ba");
  g_assert_cmpstr (g_ptr_array_index (c->bad_nodes, 0), ==, "6eba45d31a900c06");
  g_assert_cmpuint (c->mandatory_extensions->len, ==, 1);
  g_assert_cmpuint (c->kinds->len, ==, 3);

  /* IANA kind: the registry's model and policy win over the document. */
  k = disco_reload_config_find_kind (c, DISCO_RELOAD_KIND_SIP_REGISTRATION);
  g_assert_cmpint (k->data_model, ==, DISCO_RELOAD_DATA_MODEL_DICTIONARY);
  g_assert_cmpint (k->access, ==, DISCO_RELOAD_ACCESS_USER_NODE_MATCH);
  g_assert_cmpuint (k->max_count, ==, 10);
  g_assert_true (k->has_domain_restriction);
  g_assert_true (k->domain_restriction_enabled);
  g_assert_cmpstr (k->domain_patterns[0], ==, ".*example\\.org");
  g_assert_cmpstr (k->kind_signature, ==, "VGhpcyBpcyBub3QgcmVhbA==");

  k = disco_reload_config_find_kind (c, DISCO_RELOAD_KIND_DISCO_REGISTRATION);
  g_assert_cmpuint (g_strv_length (k->patterns), ==, 2);
  g_assert_cmpstr (k->patterns[1], ==, "$USER-room@$DOMAIN");
  g_assert_null (k->kind_signature);

  k = disco_reload_config_find_kind (c, 4026535190u);
  g_assert_cmpint (k->access, ==, DISCO_RELOAD_ACCESS_UNKNOWN);
  g_assert_cmpstr (k->access_name, ==, "EXP-MATCH");
}

static void
test_full (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadConfig) c
      = disco_reload_config_parse (full_doc, strlen (full_doc), NULL, "full.xml", &error);
  g_autoptr (DiscoReloadConfig) c2 = NULL;
  const char *cfg_start, *cfg_end;
  const DiscoReloadKindConfig *k;
  gsize n;

  /* First configuration is the default pick. */
  g_assert_no_error (error);
  g_assert_cmpstr (c->instance_name, ==, "other.example.net");
  g_assert_cmpuint (c->sequence, ==, 9);
  g_assert_null (c->signature);

  c2 = disco_reload_config_parse (full_doc, strlen (full_doc), "overlay.example.org", "full.xml",
                                  &error);
  g_assert_no_error (error);
  check_full (c2);
  g_assert_cmpstr (c2->signature, ==, "c2lnbmF0dXJl");

  /* Signed bytes are exactly '<configuration' .. '</configuration>'. */
  cfg_start = strstr (full_doc, "<configuration instance-name=\"overlay");
  cfg_end = strstr (cfg_start, "</configuration>") + strlen ("</configuration>");
  g_assert_nonnull (c2->configuration_xml);
  g_assert_cmpmem (g_bytes_get_data (c2->configuration_xml, &n), n, cfg_start,
                   (gsize)(cfg_end - cfg_start));
  k = disco_reload_config_find_kind (c2, 1);
  g_assert_nonnull (k->kind_xml);
  g_assert_true (g_str_has_prefix (g_bytes_get_data (k->kind_xml, NULL), "<kind name=\"SIP"));
  {
    g_autofree char *kx
        = g_strndup (g_bytes_get_data (k->kind_xml, NULL), g_bytes_get_size (k->kind_xml));
    g_assert_true (g_str_has_suffix (kx, "</sip:domain-restriction>\n        </kind>"));
  }

  g_clear_pointer (&c2, disco_reload_config_unref);
  c2 = disco_reload_config_parse (full_doc, strlen (full_doc), "nope.example", "full.xml", &error);
  g_assert_null (c2);
  g_assert_error (error, DISCO_RELOAD_CONFIG_ERROR, DISCO_RELOAD_CONFIG_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "nope.example"));
}

static void
test_round_trip (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadConfig) c = disco_reload_config_parse (
      full_doc, strlen (full_doc), "overlay.example.org", "full.xml", &error);
  g_autoptr (DiscoReloadConfig) back = NULL;
  g_autoptr (DiscoReloadConfig) back2 = NULL;
  g_autoptr (DiscoReloadConfig) dflt = disco_reload_config_new_default ();
  g_autofree char *xml = NULL;
  g_autofree char *xml2 = NULL;
  gsize len = 0;

  g_assert_no_error (error);
  /* Signed: the configuration goes out verbatim and the signature stays valid. */
  xml = disco_reload_config_to_xml (c, &len);
  g_assert_nonnull (xml);
  g_assert_cmpuint (len, ==, strlen (xml));
  back = disco_reload_config_parse (xml, len, NULL, "out.xml", &error);
  g_assert_no_error (error);
  check_full (back);
  g_assert_cmpstr (back->signature, ==, c->signature);
  g_assert_cmpmem (
      g_bytes_get_data (back->configuration_xml, NULL), g_bytes_get_size (back->configuration_xml),
      g_bytes_get_data (c->configuration_xml, NULL), g_bytes_get_size (c->configuration_xml));

  /* Unsigned: rebuilt from the struct. */
  g_clear_pointer (&c->signature, g_free);
  g_clear_pointer (&back, disco_reload_config_unref);
  g_clear_pointer (&xml, g_free);
  xml = disco_reload_config_to_xml (c, &len);
  back = disco_reload_config_parse (xml, len, NULL, "out.xml", &error);
  g_assert_no_error (error);
  check_full (back);

  xml2 = disco_reload_config_to_xml (dflt, &len);
  back2 = disco_reload_config_parse (xml2, len, NULL, "out2.xml", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back2->kinds->len, ==, dflt->kinds->len);
  for (guint i = 0; i < dflt->kinds->len; i++)
    {
      const DiscoReloadKindConfig *a = g_ptr_array_index (dflt->kinds, i);
      const DiscoReloadKindConfig *b = g_ptr_array_index (back2->kinds, i);
      g_assert_cmpuint (a->id, ==, b->id);
      g_assert_cmpint (a->data_model, ==, b->data_model);
      g_assert_cmpint (a->access, ==, b->access);
      g_assert_cmpuint (a->max_count, ==, b->max_count);
      g_assert_cmpuint (a->max_size, ==, b->max_size);
      g_assert_cmpint (a->variable_names, ==, b->variable_names);
      g_assert_cmpuint (g_strv_length (a->patterns), ==, g_strv_length (b->patterns));
    }
  g_assert_cmpuint (back2->overlay_hash, ==, dflt->overlay_hash);
  g_assert_true (back2->self_signed_permitted);
  g_assert_true (back2->no_ice);
}

typedef struct
{
  const char *doc;
  int code;
  const char *where; /* expected "origin:line:" prefix fragment */
  const char *what;  /* expected fragment of the message */
} BadCase;

#define HEAD "<overlay xmlns=\"urn:ietf:params:xml:ns:p2p:config-base\">\n"

static const BadCase bad_cases[] = {
  { HEAD
    "<configuration instance-name=\"a.example\">\n<no-ice>true</no-ice>\n<self-signed-permitted>"
    "true</self-signed-permitted>\n</configuratio>\n</overlay>\n",
    DISCO_RELOAD_CONFIG_ERROR_XML, "bad.xml:5:", "mismatch" },
  { "<overlay>\n\n\n  <unclosed attr=\"x>\n</overlay>", DISCO_RELOAD_CONFIG_ERROR_XML,
    "bad.xml:", "" },
  { "", DISCO_RELOAD_CONFIG_ERROR_XML, "bad.xml:1:", "empty" },
  { HEAD "<configuration "
         "instance-name=\"a.example\">\n<self-signed-permitted>true</self-signed-permitted>"
         "\n\n<node-id-length>99</node-id-length>\n</configuration></overlay>",
    DISCO_RELOAD_CONFIG_ERROR_INVALID, "bad.xml:5:", "node-id-length" },
  /* Legal in RFC 6940, but our codec's Node-IDs are 16 bytes. */
  { HEAD "<configuration "
         "instance-name=\"a.example\">\n<self-signed-permitted>true</self-signed-permitted>"
         "\n<node-id-length>20</node-id-length>\n</configuration></overlay>",
    DISCO_RELOAD_CONFIG_ERROR_UNSUPPORTED, "bad.xml:4:", "node-id-length 20" },
  { HEAD "<configuration "
         "instance-name=\"a.example\">\n<self-signed-permitted>true</self-signed-permitted>"
         "\n<node-id-length>17</node-id-length>\n</configuration></overlay>",
    DISCO_RELOAD_CONFIG_ERROR_UNSUPPORTED, "bad.xml:4:", "node-id-length 17" },
  { HEAD "<configuration "
         "instance-name=\"a.example\">\n<self-signed-permitted>maybe</self-signed-permitted>"
         "\n</configuration></overlay>",
    DISCO_RELOAD_CONFIG_ERROR_INVALID, "bad.xml:3:", "true/false" },
  { HEAD "<configuration>\n</configuration></overlay>", DISCO_RELOAD_CONFIG_ERROR_INVALID,
    "bad.xml:2:", "instance-name" },
  { HEAD "<configuration "
         "instance-name=\"a.example\">\n<no-ice>true</no-ice>\n</configuration></overlay>",
    DISCO_RELOAD_CONFIG_ERROR_INVALID, "bad.xml:2:", "trust anchor" },
  { HEAD
    "<configuration instance-name=\"a.example\"><self-signed-permitted>1</self-signed-permitted>\n"
    "<required-kinds><kind-block>\n<kind name=\"NO-SUCH-KIND\"/></kind-block></required-kinds>"
    "</configuration></overlay>",
    DISCO_RELOAD_CONFIG_ERROR_INVALID, "bad.xml:4:", "NO-SUCH-KIND" },
  { HEAD
    "<configuration instance-name=\"a.example\"><self-signed-permitted>1</self-signed-permitted>\n"
    "<required-kinds><kind-block>\n<kind id=\"9\" name=\"REDIR\"/></kind-block></required-kinds>"
    "</configuration></overlay>",
    DISCO_RELOAD_CONFIG_ERROR_INVALID, "bad.xml:4:", "exactly one" },
  { HEAD
    "<configuration instance-name=\"a.example\"><self-signed-permitted>1</self-signed-permitted>\n"
    "<required-kinds><kind-block>\n<kind id=\"4026531841\"><data-model>SINGLE</data-model>"
    "<access-control>NODE-MULTIPLE</access-control></kind></kind-block></required-kinds>"
    "</configuration></overlay>",
    DISCO_RELOAD_CONFIG_ERROR_INVALID, "bad.xml:4:", "max-node-multiple" },
  { HEAD
    "<configuration instance-name=\"a.example\"><self-signed-permitted>1</self-signed-permitted>\n"
    "<required-kinds><kind-block>\n<kind id=\"4026531841\"><data-model>SINGLE</data-model>"
    "<access-control>USER-CHAIN-ACL</access-control></kind></kind-block></required-kinds>"
    "</configuration></overlay>",
    DISCO_RELOAD_CONFIG_ERROR_INVALID, "bad.xml:4:", "USER-CHAIN-ACL" },
  { HEAD
    "<configuration instance-name=\"a.example\"><self-signed-permitted>1</self-signed-permitted>\n"
    "<required-kinds>\n<kind-block><kind id=\"4026531841\"><data-model>ARRAY</data-model>"
    "<access-control>USER-MATCH</access-control></kind></kind-block>\n"
    "<kind-block><kind id=\"4026531841\"><data-model>ARRAY</data-model>"
    "<access-control>USER-MATCH</access-control></kind></kind-block></required-kinds>"
    "</configuration></overlay>",
    DISCO_RELOAD_CONFIG_ERROR_INVALID, "bad.xml:5:", "twice" },
  { HEAD
    "<configuration instance-name=\"a.example\"><self-signed-permitted>1</self-signed-permitted>\n"
    "<required-kinds><kind-block>\n<kind id=\"4026531841\"><data-model>LIST</data-model>"
    "</kind></kind-block></required-kinds></configuration></overlay>",
    DISCO_RELOAD_CONFIG_ERROR_INVALID, "bad.xml:4:", "LIST" },
  { HEAD
    "<configuration instance-name=\"a.example\"><self-signed-permitted>1</self-signed-permitted>\n"
    "<mandatory-extension>urn:example:unknown</mandatory-extension>\n"
    "</configuration></overlay>",
    DISCO_RELOAD_CONFIG_ERROR_UNSUPPORTED, "bad.xml:3:", "urn:example:unknown" },
  { HEAD
    "<configuration instance-name=\"a.example\"><self-signed-permitted>1</self-signed-permitted>\n"
    "<topology-plugin>PASTRY</topology-plugin>\n</configuration></overlay>",
    DISCO_RELOAD_CONFIG_ERROR_UNSUPPORTED, "bad.xml:3:", "PASTRY" },
  { HEAD
    "<configuration instance-name=\"a.example\"><self-signed-permitted>1</self-signed-permitted>\n"
    "<bootstrap-node address=\"192.0.2.1\" port=\"70000\"/>\n</configuration></overlay>",
    DISCO_RELOAD_CONFIG_ERROR_INVALID, "bad.xml:3:", "70000" },
  { HEAD
    "<configuration instance-name=\"a.example\"><self-signed-permitted>1</self-signed-permitted>\n"
    "<root-cert>not*base64</root-cert>\n</configuration></overlay>",
    DISCO_RELOAD_CONFIG_ERROR_INVALID, "bad.xml:3:", "base64" },
  { HEAD
    "<configuration instance-name=\"a.example\"><self-signed-permitted>1</self-signed-permitted>\n"
    "<enrollment-server>http://insecure</enrollment-server>\n</configuration></overlay>",
    DISCO_RELOAD_CONFIG_ERROR_INVALID, "bad.xml:3:", "https" },
  { HEAD
    "<configuration instance-name=\"a.example\"><self-signed-permitted>1</self-signed-permitted>\n"
    "<bad-node>xyz</bad-node>\n</configuration></overlay>",
    DISCO_RELOAD_CONFIG_ERROR_INVALID, "bad.xml:3:", "hex" },
  { "<?xml version=\"1.0\"?>\n<!DOCTYPE overlay [\n<!ENTITY a \"aaaaaaaaaa\">\n"
    "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n]>\n"
    "<overlay xmlns=\"urn:ietf:params:xml:ns:p2p:config-base\"><configuration "
    "instance-name=\"&b;\">"
    "<self-signed-permitted>1</self-signed-permitted></configuration></overlay>",
    DISCO_RELOAD_CONFIG_ERROR_INVALID, "bad.xml:1:", "DTD" },
  { "<other xmlns=\"urn:example\"/>", DISCO_RELOAD_CONFIG_ERROR_INVALID,
    "bad.xml:1:", "<overlay>" },
};

static void
test_bad (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (DiscoReloadConfig) c = disco_reload_config_parse (
          bad_cases[i].doc, strlen (bad_cases[i].doc), NULL, "bad.xml", &error);

      g_test_message ("case %" G_GSIZE_FORMAT ": %s", i, error ? error->message : "(no error)");
      g_assert_null (c);
      g_assert_error (error, DISCO_RELOAD_CONFIG_ERROR, bad_cases[i].code);
      g_assert_true (g_str_has_prefix (error->message, bad_cases[i].where));
      g_assert_nonnull (strstr (error->message, bad_cases[i].what));
    }
}

static void
test_limits (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) big = g_string_new (HEAD "<configuration instance-name=\"a.example\">"
                                               "<self-signed-permitted>1</self-signed-permitted>");
  g_autoptr (DiscoReloadConfig) c = NULL;
  g_autoptr (GString) kinds = NULL;

  while (big->len <= DISCO_RELOAD_CONFIG_MAX_BYTES)
    g_string_append (big, "<!-- padding padding padding padding padding padding -->\n");
  g_string_append (big, "</configuration></overlay>");
  c = disco_reload_config_parse (big->str, big->len, NULL, "big.xml", &error);
  g_assert_null (c);
  g_assert_error (error, DISCO_RELOAD_CONFIG_ERROR, DISCO_RELOAD_CONFIG_ERROR_TOO_LARGE);
  g_clear_error (&error);

  kinds = g_string_new (HEAD "<configuration instance-name=\"a.example\">"
                             "<self-signed-permitted>1</self-signed-permitted><required-kinds>");
  for (guint i = 0; i <= DISCO_RELOAD_CONFIG_MAX_KINDS; i++)
    g_string_append_printf (kinds,
                            "<kind-block><kind id=\"%u\"><data-model>ARRAY</data-model>"
                            "<access-control>USER-MATCH</access-control></kind></kind-block>\n",
                            0xF0000001u + i);
  g_string_append (kinds, "</required-kinds></configuration></overlay>");
  c = disco_reload_config_parse (kinds->str, kinds->len, NULL, "kinds.xml", &error);
  g_assert_null (c);
  g_assert_error (error, DISCO_RELOAD_CONFIG_ERROR, DISCO_RELOAD_CONFIG_ERROR_TOO_LARGE);
}

static void
test_load_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("reload-config-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "overlay.xml", NULL);
  g_autoptr (DiscoReloadConfig) c = NULL;

  g_assert_no_error (error);
  c = disco_reload_config_load_file (path, NULL, &error);
  g_assert_null (c);
  g_assert_error (error, DISCO_RELOAD_CONFIG_ERROR, DISCO_RELOAD_CONFIG_ERROR_IO);
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (path, disco_reload_config_default_xml (), -1, &error));
  c = disco_reload_config_load_file (path, "disco.example.org", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c->instance_name, ==, "disco.example.org");
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_kind_block (void)
{
  g_autoptr (DiscoReloadConfig) c = disco_reload_config_new_default ();
  g_autoptr (GError) error = NULL;
  static const char with_decl[]
      = "<?xml version=\"1.0\"?><kind-block><kind id=\"4026531900\">\n"
        "<data-model>ARRAY</data-model><access-control>USER-MATCH</access-control>"
        "<max-count>2</max-count><max-size>9</max-size></kind>"
        "<kind-signature>AAAA</kind-signature></kind-block>";
  static const char two[] = "<kind-block><kind name=\"SIP-REGISTRATION\"/></kind-block>"
                            "<kind-block><kind name=\"CERTIFICATE_BY_USER\"/></kind-block>";
  static const char broken[] = "<kind-block>\n<kind id=\"4026531900\">\n</kind-blok>";
  DiscoReloadKindConfig *k;
  g_autofree char *big = g_strnfill (70000, ' ');

  /* Every kind of the default overlay survives a ConfigUpdate round trip. */
  for (guint i = 0; i < c->kinds->len; i++)
    {
      const DiscoReloadKindConfig *a = g_ptr_array_index (c->kinds, i);
      gsize len = 0;
      g_autofree char *xml = disco_reload_kind_config_to_xml (a, &len);

      k = disco_reload_kind_config_parse (xml, len, "update", &error);
      g_assert_no_error (error);
      g_assert_cmpuint (k->id, ==, a->id);
      g_assert_cmpint (k->data_model, ==, a->data_model);
      g_assert_cmpint (k->access, ==, a->access);
      g_assert_cmpuint (k->max_count, ==, a->max_count);
      g_assert_cmpuint (k->max_size, ==, a->max_size);
      g_assert_cmpint (k->variable_names, ==, a->variable_names);
      g_assert_cmpstrv (k->patterns, a->patterns);
      g_assert_nonnull (k->kind_xml);
      disco_reload_kind_config_free (k);
    }

  k = disco_reload_kind_config_parse (with_decl, strlen (with_decl), "update", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (k->id, ==, 4026531900u);
  g_assert_cmpstr (k->kind_signature, ==, "AAAA");
  g_assert_true (g_str_has_prefix (g_bytes_get_data (k->kind_xml, NULL), "<kind id="));
  /* Adding it to a private config replaces nothing, then replaces itself. */
  disco_reload_config_add_kind (c, k);
  g_assert_true (disco_reload_config_find_kind (c, 4026531900u) == k);
  g_assert_cmpuint (c->kinds->len, ==, 6);
  k = disco_reload_kind_config_parse (with_decl, strlen (with_decl), "update", &error);
  disco_reload_config_add_kind (c, k);
  g_assert_cmpuint (c->kinds->len, ==, 6);

  g_assert_null (disco_reload_kind_config_parse (two, strlen (two), "update", &error));
  g_assert_error (error, DISCO_RELOAD_CONFIG_ERROR, DISCO_RELOAD_CONFIG_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (disco_reload_kind_config_parse (broken, strlen (broken), "update", &error));
  g_assert_error (error, DISCO_RELOAD_CONFIG_ERROR, DISCO_RELOAD_CONFIG_ERROR_XML);
  g_assert_true (g_str_has_prefix (error->message, "update:3:"));
  g_clear_error (&error);
  g_assert_null (disco_reload_kind_config_parse (big, 70000, "update", &error));
  g_assert_error (error, DISCO_RELOAD_CONFIG_ERROR, DISCO_RELOAD_CONFIG_ERROR_TOO_LARGE);
}

/* DisCo's own test gate: <disco:plaintext-test-links> in our namespace,
 * off by default, kept by the writer. */
static void
test_plaintext_gate (void)
{
  g_autoptr (GError) error = NULL;
  static const char doc[] = "<overlay xmlns=\"urn:ietf:params:xml:ns:p2p:config-base\"\n"
                            "    xmlns:disco=\"" DISCO_RELOAD_NS_DISCO "\">\n"
                            "<configuration instance-name=\"a.example\">\n"
                            "<self-signed-permitted>true</self-signed-permitted>\n"
                            "<disco:plaintext-test-links>true</disco:plaintext-test-links>\n"
                            "</configuration></overlay>\n";
  g_autoptr (DiscoReloadConfig) def = disco_reload_config_new_default ();
  g_assert_false (def->plaintext_test_links);

  g_autoptr (DiscoReloadConfig) c
      = disco_reload_config_parse (doc, strlen (doc), NULL, "gate.xml", &error);
  g_assert_no_error (error);
  g_assert_true (c->plaintext_test_links);
  g_autofree char *xml = disco_reload_config_to_xml (c, NULL);
  g_assert_nonnull (strstr (xml, "plaintext-test-links"));
  g_autoptr (DiscoReloadConfig) back
      = disco_reload_config_parse (xml, strlen (xml), NULL, "back.xml", &error);
  g_assert_no_error (error);
  g_assert_true (back->plaintext_test_links);

  /* The same element name in another namespace is not the gate. */
  g_autofree char *other = g_strdup (doc);
  char *ns = strstr (other, "config-disco");
  ns[0] = 'X';
  g_autoptr (DiscoReloadConfig) c2
      = disco_reload_config_parse (other, strlen (other), NULL, "other.xml", &error);
  g_assert_no_error (error);
  g_assert_false (c2->plaintext_test_links);
  /* And a value that is no boolean is an error naming the element. */
  g_autofree char *bad = g_strdup (doc);
  char *t = strstr (bad, ">true</disco:");
  memcpy (t + 1, "yess", 4);
  g_assert_null (disco_reload_config_parse (bad, strlen (bad), NULL, "bad.xml", &error));
  g_assert_error (error, DISCO_RELOAD_CONFIG_ERROR, DISCO_RELOAD_CONFIG_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "plaintext-test-links"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/reload-config/default", test_default);
  g_test_add_func ("/reload-config/overlay-hash", test_overlay_hash);
  g_test_add_func ("/reload-config/full", test_full);
  g_test_add_func ("/reload-config/plaintext-gate", test_plaintext_gate);
  g_test_add_func ("/reload-config/round-trip", test_round_trip);
  g_test_add_func ("/reload-config/bad", test_bad);
  g_test_add_func ("/reload-config/limits", test_limits);
  g_test_add_func ("/reload-config/load-file", test_load_file);
  g_test_add_func ("/reload-config/kind-block", test_kind_block);
  return g_test_run ();
}
