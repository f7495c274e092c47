/* conference.h: the SIP focus's conferences, participants and
 * subscriptions (internal to the SIP side of disco-focus).
 *
 * Every sofia handle the focus works with is bound (hmagic) to one of the
 * structs below; each starts with a DiscoHandleKind so the event dispatcher
 * in sip-agent.c can tell them apart.
 *
 * Ownership: the agent owns its conferences (hash table keyed by the
 * conference URI's user part); a conference owns its participants,
 * subscriptions and peer links.  A struct bound to a handle is freed when
 * the handle is destroyed, never while sofia may still report on it.
 */
#pragma once

#include <json-c/json.h>
#include <libxml/tree.h>
#include <sofia-sip/nua.h>

#include "focus-config.h"
#include "sdp-answer.h"

G_BEGIN_DECLS

typedef struct _DiscoSipAgent DiscoSipAgent;
typedef struct _DiscoConference DiscoConference;
typedef struct _DiscoConferenceMedia DiscoConferenceMedia;

typedef enum
{
  DISCO_HANDLE_PARTICIPANT = 0x7061,
  DISCO_HANDLE_SUBSCRIPTION,
  DISCO_HANDLE_PEER_LINK,
  DISCO_HANDLE_DIAL_OUT_REFER,
  DISCO_HANDLE_PING, /* focus-coordinates.c: OPTIONS round trip to a peer focus */
} DiscoHandleKind;

typedef struct
{
  DiscoHandleKind kind;
  DiscoConference *conf;
  nua_handle_t *nh;
  char *id;      /* unique in the conference; media room key */
  char *aor;     /* user entity: the From URI */
  char *display; /* From display name, or NULL */
  char *contact; /* endpoint entity: the participant's Contact URI */
  char *call_id;
  char *from_tag; /* of the dialog-creating INVITE */
  char *to_tag;
  char *session_id;   /* participant's RFC 7989 UUID, or NULL */
  char *remote_focus; /* delegated from this focus (Session-ID match), or NULL */
  char *referred_by;  /* Referred-By of the INVITE, or NULL */
  DiscoSdpMedia media;
  const char *status;         /* RFC 4575 endpoint status */
  const char *joining_method; /* dialed-in / dialed-out */
  gint64 joined_us;           /* monotonic */
  guint64 sdp_version;
  gboolean in_room;
  gboolean answered;
  char *delegating_to;        /* REFER sent, waiting for the sipfrag */
  guint refer_timer;          /* gives up on a final sipfrag that never comes */
  guint delegations_failed;   /* REFERs that did not move the participant */
  char *pending_delegate;     /* admitted over capacity: REFER here once ready */
  char *local_sdp;            /* our last SDP, repeated for offerless re-INVITEs */
  nua_handle_t *replaces;     /* ref to the dialog this call replaces (RFC 3891) */
  gboolean late_offer;        /* INVITE without SDP: our offer in the 200, answer in ACK */
  gboolean allows_refer;      /* its INVITE listed REFER in Allow */
  nua_handle_t *notify_refer; /* dial-out: the REFER handle to report to (ref) */
  char *refer_event;          /* its Event value, "refer;id=N" */
} DiscoParticipant;

typedef struct
{
  DiscoHandleKind kind;
  DiscoConference *conf;
  nua_handle_t *nh;
  char *subscriber; /* From URI */
  guint32 version;  /* last version sent */
  gint64 created_us;
  gboolean is_focus; /* the subscriber is another focus (isfocus Contact) */
} DiscoSubscription;

/* Our subscription to another focus serving the same conference. */
typedef struct
{
  DiscoHandleKind kind;
  DiscoConference *conf;
  nua_handle_t *nh;
  char *peer_uri; /* "sip:HOST:PORT", also its dc:served-by value */
  xmlDoc *view;   /* merged remote state (RFC 4575 §4.6), or NULL */
  guint notifies;
  guint refreshes; /* SUBSCRIBE refreshes caused by version gaps */
  guint retry_source;
  char *cascade; /* the peer room's cascade ADDR:PORT while a leg exists */
  gboolean active;
} DiscoPeerLink;

struct _DiscoConference
{
  DiscoSipAgent *agent;
  char *uri;                /* the identifier, as configured */
  char *user;               /* its user part: how requests find the conference */
  char *uuid;               /* RFC 7989 local UUID, shared by every focus (hash of uri) */
  char *contact;            /* "<sip:user@our-hostport>;isfocus" */
  GHashTable *participants; /* id -> DiscoParticipant (borrowed; freed with handle) */
  GPtrArray *subscriptions; /* DiscoSubscription (borrowed) */
  GPtrArray *peers;         /* DiscoPeerLink (owned) */
  GHashTable *advertised;   /* user entity -> serialised <user>, as last notified */
  guint flush_source;
  guint next_id;
  gint64 started_us;
  DiscoConferenceMedia *media;
  gboolean leaving;          /* shutting down: dc:focus state "leaving" */
  gboolean foci_changed;     /* our dc:focus changed without a roster change */
  guint64 rejected_overload; /* INVITEs refused by load admission */
};

/* sip-agent.c: agent internals the other files need. */
nua_t *disco_sip_agent_nua (DiscoSipAgent *agent);
const DiscoFocusConfig *disco_sip_agent_config (DiscoSipAgent *agent);
/* "sip:HOST:PORT" of this focus peer. */
const char *disco_sip_agent_focus_uri (DiscoSipAgent *agent);
const char *disco_sip_agent_hostport (DiscoSipAgent *agent);
const char *disco_sip_agent_node_id (DiscoSipAgent *agent); /* hex or NULL */
typedef struct _DiscoAdmission DiscoAdmission;
DiscoAdmission *disco_sip_agent_admission (DiscoSipAgent *agent);
/* This peer's network coordinates (opaque, disco.md §7), or NULL. */
GBytes *disco_sip_agent_coordinates (DiscoSipAgent *agent);
guint disco_sip_agent_participant_count (DiscoSipAgent *agent);
DiscoConference *disco_sip_agent_find_conference (DiscoSipAgent *agent, const url_t *url);
guint64 disco_sip_agent_next_sdp_session (DiscoSipAgent *agent);

/* focus-coordinates.c: the final response to one of its OPTIONS pings. */
void disco_ping_response (void *ping, int status);

/* conference.c */
DiscoConference *disco_conference_new (DiscoSipAgent *agent, const char *uri, GError **error);
void disco_conference_free (DiscoConference *conf);
/* Leaving gracefully (disco.md §5.4): REFERs every participant that can
 * follow a REFER to the least loaded peer focus.  Returns how many. */
guint disco_conference_drain (DiscoConference *conf);
/* Participants with a delegation REFER still in progress. */
guint disco_conference_delegating (DiscoConference *conf);
/* Ends every call and subscription (final NOTIFY, state deleted). */
void disco_conference_end (DiscoConference *conf);
DiscoParticipant *disco_participant_new (DiscoConference *conf, nua_handle_t *nh);
/* Removes it from the conference and the room; frees it. */
void disco_participant_remove (DiscoParticipant *p);
/* Something about the roster changed: notify subscribers soon (batched). */
void disco_conference_changed (DiscoConference *conf);
/* The participant whose RFC 7989 UUID or dialog a peer focus reports. */
const char *disco_conference_find_remote_session (DiscoConference *conf, const char *session_id,
                                                  const char *call_id);
/* A peer's state arrived: local participants whose Session-ID that peer
 * reports as its own were delegated from it (the INVITE can overtake the
 * NOTIFY). */
void disco_conference_match_delegated (DiscoConference *conf);
DiscoPeerLink *disco_conference_pick_peer (DiscoConference *conf);
void disco_conference_add_status (DiscoConference *conf, json_object *obj);

/* conference-notify.c: the conference event package, both directions. */
void disco_notify_incoming_subscribe (DiscoSipAgent *agent, int status, nua_handle_t *nh,
                                      DiscoSubscription *sub, sip_t const *sip, tagi_t tags[]);
void disco_notify_response (DiscoSubscription *sub, int status, tagi_t tags[]);
void disco_subscription_free (DiscoSubscription *sub);
/* Full document for @sub (version+1) */
void disco_notify_send_full (DiscoSubscription *sub);
/* Sends pending changes to every subscription of @conf now. */
void disco_notify_flush (DiscoConference *conf);
void disco_notify_terminate_all (DiscoConference *conf);
/* Renders the merged view: <user> nodes keyed by entity (serialised). */
GHashTable *disco_notify_render_users (DiscoConference *conf, guint *count);

DiscoPeerLink *disco_peer_link_new (DiscoConference *conf, const char *peer_uri);
void disco_peer_link_free (DiscoPeerLink *link);
void disco_peer_link_notify (DiscoPeerLink *link, nua_handle_t *nh, sip_t const *sip,
                             tagi_t tags[]);
void disco_peer_link_response (DiscoPeerLink *link, int status, sip_t const *sip, tagi_t tags[]);

/* sip-call.c: INVITE dialogs. */
void disco_call_incoming_invite (DiscoSipAgent *agent, nua_handle_t *nh, DiscoParticipant *p,
                                 sip_t const *sip, tagi_t tags[]);
/* ACK: carries the answer when the INVITE had no offer. */
void disco_call_ack (DiscoParticipant *p, sip_t const *sip);
void disco_call_state (DiscoParticipant *p, int status, sip_t const *sip, tagi_t tags[]);
void disco_call_update (DiscoParticipant *p, nua_handle_t *nh, sip_t const *sip);
void disco_call_options (DiscoSipAgent *agent, nua_handle_t *nh, sip_t const *sip);
void disco_call_invite_response (DiscoParticipant *p, int status, sip_t const *sip);
/* Starts a dial-out (RFC 4579 §5.5) to @target; reports to @refer_nh. */
gboolean disco_call_dial_out (DiscoConference *conf, const char *target, nua_handle_t *refer_nh,
                              tagi_t tags[]);
const char *disco_sip_find_header (sip_t const *sip, const char *name);
/* RFC 7989: the UUID (32 hex) at the start of a Session-ID value; caller frees. */
char *disco_sip_session_uuid (sip_t const *sip);

/* refer.c */
/* Delegates @p to @peer_uri with an in-dialog REFER (DisCo call delegation). */
gboolean disco_refer_delegate (DiscoParticipant *p, const char *peer_uri);
void disco_refer_progress (DiscoParticipant *p, int status, sip_t const *sip);
void disco_refer_incoming (DiscoSipAgent *agent, nua_handle_t *nh, void *hmagic, sip_t const *sip,
                           tagi_t tags[]);

/* conference-media.c: the hook to the media room. */
DiscoConferenceMedia *disco_conference_media_new (const char *name, const char *address,
                                                  GError **error);
void disco_conference_media_free (DiscoConferenceMedia *media);
guint disco_conference_media_port (DiscoConferenceMedia *media);
/* The video room's port, creating the room first when @create; 0 when
 * there is no video room (video is then declined). */
guint disco_conference_media_video_port (DiscoConferenceMedia *media, gboolean create);
/* Video RTP counters of @p; FALSE if it has no video leg. */
gboolean disco_conference_media_video_stats (DiscoConferenceMedia *media, DiscoParticipant *p,
                                             guint64 *packets_in, guint64 *packets_out);
gboolean disco_conference_media_add (DiscoConferenceMedia *media, DiscoParticipant *p,
                                     GError **error);
gboolean disco_conference_media_update (DiscoConferenceMedia *media, DiscoParticipant *p,
                                        GError **error);
void disco_conference_media_remove (DiscoConferenceMedia *media, DiscoParticipant *p);
/* Cascade legs to other foci's rooms (Opus, PT 96, both directions). */
gboolean disco_conference_media_add_cascade (DiscoConferenceMedia *media, const char *peer_id,
                                             const char *hostport, GError **error);
void disco_conference_media_remove_cascade (DiscoConferenceMedia *media, const char *peer_id);
/* loss 0..100, talking; FALSE when unknown. */
gboolean disco_conference_media_stats (DiscoConferenceMedia *media, DiscoParticipant *p,
                                       double *loss_percent, gboolean *talking,
                                       guint64 *packets_in);

G_END_DECLS
