/* reload-config-default.c: the configuration disco-focus uses when the
 * operator gives none.  Kept as a C string (not a GResource) because it is
 * one small document and the parser wants a flat buffer anyway. */
#include "reload-config.h"

/* The DISCO-REGISTRATION kind is a ShaRe shared resource (RFC 8076): the
 * conference creator owns "<anything>-conf-<user>@<domain>" and delegates
 * write access to further foci through ACCESS-CONTROL-LIST items, which
 * therefore need the same variable-name pattern. */
static const char default_xml[]
    = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<overlay xmlns=\"urn:ietf:params:xml:ns:p2p:config-base\"\n"
      "         xmlns:chord=\"urn:ietf:params:xml:ns:p2p:config-chord\"\n"
      "         xmlns:share=\"urn:ietf:params:xml:ns:p2p:config-base:share\">\n"
      "  <configuration instance-name=\"disco.example.org\" sequence=\"1\">\n"
      "    <topology-plugin>CHORD-RELOAD</topology-plugin>\n"
      "    <node-id-length>16</node-id-length>\n"
      "    <self-signed-permitted digest=\"sha256\">true</self-signed-permitted>\n"
      "    <no-ice>true</no-ice>\n"
      "    <clients-permitted>true</clients-permitted>\n"
      "    <turn-density>0</turn-density>\n"
      "    <chord:chord-update-interval>600</chord:chord-update-interval>\n"
      "    <chord:chord-ping-interval>3600</chord:chord-ping-interval>\n"
      "    <chord:chord-reactive>true</chord:chord-reactive>\n"
      "    <max-message-size>5000</max-message-size>\n"
      "    <initial-ttl>100</initial-ttl>\n"
      "    <overlay-reliability-timer>3000</overlay-reliability-timer>\n"
      "    <overlay-link-protocol>TLS</overlay-link-protocol>\n"
      "    <required-kinds>\n"
      "      <kind-block>\n"
      "        <kind name=\"SIP-REGISTRATION\">\n"
      "          <data-model>DICTIONARY</data-model>\n"
      "          <access-control>USER-NODE-MATCH</access-control>\n"
      "          <max-count>32</max-count>\n"
      "          <max-size>1024</max-size>\n"
      "        </kind>\n"
      "      </kind-block>\n"
      "      <kind-block>\n"
      "        <kind name=\"CERTIFICATE_BY_NODE\">\n"
      "          <data-model>ARRAY</data-model>\n"
      "          <access-control>NODE-MATCH</access-control>\n"
      "          <max-count>8</max-count>\n"
      "          <max-size>4096</max-size>\n"
      "        </kind>\n"
      "      </kind-block>\n"
      "      <kind-block>\n"
      "        <kind name=\"ACCESS-CONTROL-LIST\">\n"
      "          <data-model>ARRAY</data-model>\n"
      "          <access-control>USER-CHAIN-ACL</access-control>\n"
      "          <max-count>64</max-count>\n"
      "          <max-size>512</max-size>\n"
      "          <share:variable-resource-names enable=\"true\">\n"
      "            <share:pattern>.*-conf-$USER@$DOMAIN</share:pattern>\n"
      "          </share:variable-resource-names>\n"
      "        </kind>\n"
      "      </kind-block>\n"
      "      <kind-block>\n"
      "        <kind name=\"CERTIFICATE_BY_USER\">\n"
      "          <data-model>ARRAY</data-model>\n"
      "          <access-control>USER-MATCH</access-control>\n"
      "          <max-count>8</max-count>\n"
      "          <max-size>4096</max-size>\n"
      "        </kind>\n"
      "      </kind-block>\n"
      "      <kind-block>\n"
      "        <kind id=\"4026535189\">\n"
      "          <data-model>DICTIONARY</data-model>\n"
      "          <access-control>USER-CHAIN-ACL</access-control>\n"
      "          <max-count>32</max-count>\n"
      "          <max-size>512</max-size>\n"
      "          <share:variable-resource-names enable=\"true\">\n"
      "            <share:pattern>.*-conf-$USER@$DOMAIN</share:pattern>\n"
      "          </share:variable-resource-names>\n"
      "        </kind>\n"
      "      </kind-block>\n"
      "    </required-kinds>\n"
      "  </configuration>\n"
      "</overlay>\n";

const char *
disco_reload_config_default_xml (void)
{
  return default_xml;
}

DiscoReloadConfig *
disco_reload_config_new_default (void)
{
  g_autoptr (GError) error = NULL;
  DiscoReloadConfig *config
      = disco_reload_config_parse (default_xml, sizeof default_xml - 1, NULL, "<default>", &error);

  /* The document is a compile-time constant covered by tests. */
  if (config == NULL)
    g_error ("embedded overlay configuration is invalid: %s", error->message);
  return config;
}
