/* sip-agent.h: the focus's SIP user agent (sofia-sip NUA on the GLib loop).
 *
 * The agent binds UDP and TCP on the configured address (port 0 picks one
 * port for both) and runs on the su_root attached to the default GLib main
 * context.  Call it only from the main thread.
 *
 * Ownership: the agent borrows @root, which must outlive it.
 */
#pragma once

#include <gio/gio.h>
#include <sofia-sip/su_wait.h>

G_BEGIN_DECLS

typedef struct _DiscoSipAgent DiscoSipAgent;

/* Creates the NUA and waits (iterating the default main context) until the
 * transport is bound, so that disco_sip_agent_get_address() is valid. */
DiscoSipAgent *disco_sip_agent_new (su_root_t *root, GInetSocketAddress *listen, GError **error);

/* The address bound for SIP (UDP and TCP share it); transfer none. */
GInetSocketAddress *disco_sip_agent_get_address (DiscoSipAgent *agent);

/* Runs the NUA shutdown sequence: nua_shutdown(), iterate the main context
 * until the stack reports completion or @timeout_ms passes.  Returns FALSE
 * on timeout.  Safe to call twice. */
gboolean disco_sip_agent_shutdown (DiscoSipAgent *agent, guint timeout_ms);

/* Destroys the NUA (after shutdown) and frees the agent. */
void disco_sip_agent_free (DiscoSipAgent *agent);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoSipAgent, disco_sip_agent_free)

G_END_DECLS
