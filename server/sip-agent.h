/* sip-agent.h: the focus's SIP user agent (sofia-sip NUA on the GLib loop).
 *
 * The agent binds UDP and TCP on the configured address (port 0 picks one
 * port for both) and runs on the su_root attached to the default GLib main
 * context.  Call it only from the main thread.  It serves the configured
 * conferences: calls (INVITE/re-INVITE/UPDATE/BYE), OPTIONS, the RFC 4575
 * conference event package, REFER (delegation and RFC 4579 dial-out) and
 * subscriptions to the other foci listed in [focus] peers.
 *
 * Ownership: the agent borrows @root and @config, which must outlive it.
 */
#pragma once

#include <gio/gio.h>
#include <json-c/json.h>
#include <sofia-sip/su_wait.h>

#include "focus-config.h"

G_BEGIN_DECLS

typedef struct _DiscoSipAgent DiscoSipAgent;

/* Creates the NUA and waits (iterating the default main context) until the
 * transport is bound, so that disco_sip_agent_get_address() is valid. */
DiscoSipAgent *disco_sip_agent_new (su_root_t *root, const DiscoFocusConfig *config,
                                    GError **error);

/* The address bound for SIP (UDP and TCP share it); transfer none. */
GInetSocketAddress *disco_sip_agent_get_address (DiscoSipAgent *agent);

/* This peer's RELOAD Node-ID (hex) for the dc:focus entries it publishes;
 * copied, NULL clears. */
void disco_sip_agent_set_node_id (DiscoSipAgent *agent, const char *node_id_hex);
/* This peer's network coordinates (opaque bytes, first byte the type:
 * 1 = Vivaldi, 2 = landmark RTTs; disco.md §7), published as
 * <dc:coordinates> in the conference state.  Ref'd; NULL clears. */
void disco_sip_agent_set_coordinates (DiscoSipAgent *agent, GBytes *coordinates);
/* The peer foci of every conference (configured [focus] peers and foci
 * that subscribed to us), "sip:HOST:PORT", each once; g_strfreev. */
char **disco_sip_agent_peer_uris (DiscoSipAgent *agent);
/* The coordinates @peer_uri publishes in its own dc:focus entry of the
 * conference state we subscribe to (base64-decoded, not checked further),
 * or NULL if it publishes none.  New reference. */
GBytes *disco_sip_agent_peer_coordinates (DiscoSipAgent *agent, const char *peer_uri);

/* Participants connected to this focus, over all conferences. */
guint disco_sip_agent_participant_count (DiscoSipAgent *agent);
guint disco_sip_agent_subscription_count (DiscoSipAgent *agent);

/* Status of the conference with URI @uri into @conf (adds "participants",
 * "subscriptions", "foci", "users"); FALSE if the agent does not serve it. */
gboolean disco_sip_agent_conference_status (DiscoSipAgent *agent, const char *uri,
                                            json_object *conf);

/* Ends the conferences (final NOTIFYs, BYEs), then runs the NUA shutdown
 * sequence: nua_shutdown(), iterate the main context
 * until the stack reports completion or @timeout_ms passes.  Returns FALSE
 * on timeout.  Safe to call twice. */
gboolean disco_sip_agent_shutdown (DiscoSipAgent *agent, guint timeout_ms);

/* Destroys the NUA (after shutdown) and frees the agent. */
void disco_sip_agent_free (DiscoSipAgent *agent);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoSipAgent, disco_sip_agent_free)

G_END_DECLS
