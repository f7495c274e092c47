/* reload-node-profile.h: what a node needs from its data directory.
 *
 * A data dir holds the node's identity ("reload-key.pem" + "reload-cert.pem",
 * see reload-identity.h) and, after enrollment, the overlay configuration
 * document it was given ("overlay.xml").  Tools and the daemon load both
 * the same way with disco_reload_node_profile_load().
 */
#pragma once

#include "reload-config.h"
#include "reload-identity.h"

G_BEGIN_DECLS

#define DISCO_RELOAD_PROFILE_CONFIG_FILE "overlay.xml"

/* Loads the configuration: @config_path when given, else
 * @data_dir/overlay.xml when it exists, else the embedded default.
 * Loads the identity from @data_dir; when there is none (or @data_dir is
 * NULL) and the overlay permits self-signed certificates, makes one for
 * @user (NULL: "node-<random hex>@<overlay>") and, with a @data_dir, saves
 * it there.  Without self-signed permission a missing identity is an error
 * telling the user to enroll.  Outputs are new references. */
gboolean disco_reload_node_profile_load (const char *data_dir, const char *config_path,
                                         const char *user, DiscoReloadConfig **config_out,
                                         DiscoReloadIdentity **identity_out, GError **error);

G_END_DECLS
