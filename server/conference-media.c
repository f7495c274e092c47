/* conference-media.c: the one place where the SIP side meets the media room.
 *
 * With the DiscoMediaRoom library built (DISCO_HAVE_MEDIA_ROOM) every
 * conference has one room and the SDP answer carries the room's shared port.
 * Without it, a placeholder UDP socket gives the SDP a real port and counts
 * what arrives, so signalling works and tests can see RTP reach the focus;
 * it mixes nothing.
 *
 * Video: the first participant that offers VP8 or H.264 creates the
 * conference's DiscoVideoRoom (its own socket and port, a composed grid);
 * audio-only conferences never pay for a compositor.  A participant whose
 * video the room refuses keeps its audio.
 */
#define G_LOG_DOMAIN "disco-media"

#include "conference.h"

#include <string.h>

#ifdef DISCO_HAVE_MEDIA_ROOM
#include "disco-media-room.h"
#include "disco-video-room.h"
#endif

/* Small enough for a loaded focus to compose and encode in real time. */
#define VIDEO_WIDTH 320
#define VIDEO_HEIGHT 240
#define VIDEO_FPS 15

struct _DiscoConferenceMedia
{
  char *name;
  char *address;
  gboolean video_failed; /* the video room could not be created: decline video */
#ifdef DISCO_HAVE_MEDIA_ROOM
  DiscoMediaRoom *room;
  DiscoVideoRoom *video;
#else
  GSocket *socket;
  GSource *source;
  guint64 packets_in;
#endif
  guint port;
};

#ifndef DISCO_HAVE_MEDIA_ROOM
static gboolean
on_datagram (GSocket *socket, GIOCondition cond, gpointer user_data)
{
  DiscoConferenceMedia *m = user_data;
  char buf[2048];
  while (g_socket_receive (socket, buf, sizeof buf, NULL, NULL) >= 0)
    m->packets_in++;
  return G_SOURCE_CONTINUE;
}
#endif

DiscoConferenceMedia *
disco_conference_media_new (const char *name, const char *address, GError **error)
{
  DiscoConferenceMedia *m = g_new0 (DiscoConferenceMedia, 1);
#ifdef DISCO_HAVE_MEDIA_ROOM
  m->room = disco_media_room_new (name, address, error);
  if (m->room == NULL)
    {
      g_free (m);
      return NULL;
    }
  m->name = g_strdup (name);
  m->address = g_strdup (address);
  m->port = disco_media_room_get_rtp_port (m->room);
#else
  g_autoptr (GInetAddress) inet = g_inet_address_new_from_string (address);
  if (inet == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "rtp-address '%s' is not a numeric address", address);
      g_free (m);
      return NULL;
    }
  g_autoptr (GSocketAddress) sa = g_inet_socket_address_new (inet, 0);
  m->socket = g_socket_new (g_inet_address_get_family (inet), G_SOCKET_TYPE_DATAGRAM,
                            G_SOCKET_PROTOCOL_UDP, error);
  if (m->socket == NULL || !g_socket_bind (m->socket, sa, FALSE, error))
    {
      g_clear_object (&m->socket);
      g_free (m);
      return NULL;
    }
  g_socket_set_blocking (m->socket, FALSE);
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (m->socket, NULL);
  m->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  m->source = g_socket_create_source (m->socket, G_IO_IN, NULL);
  g_source_set_callback (m->source, (GSourceFunc)(void (*) (void))on_datagram, m, NULL);
  g_source_attach (m->source, NULL);
  g_debug ("conference %s: placeholder media socket on port %u", name, m->port);
#endif
  return m;
}

void
disco_conference_media_free (DiscoConferenceMedia *m)
{
  if (m == NULL)
    return;
#ifdef DISCO_HAVE_MEDIA_ROOM
  g_clear_pointer (&m->video, disco_video_room_free);
  g_clear_pointer (&m->room, disco_media_room_free);
  g_free (m->name);
  g_free (m->address);
#else
  if (m->source)
    {
      g_source_destroy (m->source);
      g_source_unref (m->source);
    }
  g_clear_object (&m->socket);
#endif
  g_free (m);
}

guint
disco_conference_media_port (DiscoConferenceMedia *m)
{
  return m->port;
}

guint
disco_conference_media_video_port (DiscoConferenceMedia *m, gboolean create)
{
#ifdef DISCO_HAVE_MEDIA_ROOM
  if (m->video == NULL && create && !m->video_failed)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *name = g_strdup_printf ("%s-video", m->name);
      DiscoVideoLayoutConfig layout
          = { .width = VIDEO_WIDTH, .height = VIDEO_HEIGHT, .fps = VIDEO_FPS };
      m->video = disco_video_room_new (name, m->address, &layout, &error);
      if (m->video == NULL)
        {
          /* Remembered, so that every later offer is not a new attempt. */
          g_warning ("%s: no video room, declining video: %s", m->name, error->message);
          m->video_failed = TRUE;
        }
    }
  return m->video ? disco_video_room_get_rtp_port (m->video) : 0;
#else
  return 0;
#endif
}

#ifdef DISCO_HAVE_MEDIA_ROOM
/* The video half of a participant; FALSE (logged) leaves it audio-only. */
static void
video_add (DiscoConferenceMedia *m, DiscoParticipant *p)
{
  const DiscoSdpMedia *sm = &p->media;
  g_autoptr (GError) error = NULL;
  if (m->video == NULL || sm->video_codec == DISCO_SDP_VIDEO_NONE)
    return;
  const char *addr = sm->video_remote_address ? sm->video_remote_address : "0.0.0.0";
  g_autoptr (GInetAddress) inet = g_inet_address_new_from_string (addr);
  if (inet == NULL)
    {
      g_warning ("%s: video address '%s' is not numeric; audio only", p->id, addr);
      return;
    }
  g_autoptr (GSocketAddress) remote = g_inet_socket_address_new (inet, sm->video_remote_port);
  DiscoVideoParticipantParams params = {
    .codec
    = sm->video_codec == DISCO_SDP_VIDEO_H264 ? DISCO_VIDEO_CODEC_H264 : DISCO_VIDEO_CODEC_VP8,
    .payload_type = (guint8)sm->video_payload_type,
    .remote_rtp = G_INET_SOCKET_ADDRESS (remote),
    .send = sm->video_send,
    .recv = sm->video_recv,
  };
  if (!disco_video_room_add_participant (m->video, p->id, &params, &error))
    g_warning ("%s: video room refused the participant (audio only): %s", p->id, error->message);
}

static gboolean
fill_params (DiscoParticipant *p, DiscoMediaParticipantParams *out, GError **error)
{
  const DiscoSdpMedia *sm = &p->media;
  static const DiscoMediaCodec map[] = {
    [DISCO_SDP_CODEC_OPUS] = DISCO_MEDIA_CODEC_OPUS,
    [DISCO_SDP_CODEC_PCMU] = DISCO_MEDIA_CODEC_PCMU,
    [DISCO_SDP_CODEC_PCMA] = DISCO_MEDIA_CODEC_PCMA,
    [DISCO_SDP_CODEC_G722] = DISCO_MEDIA_CODEC_G722,
  };

  memset (out, 0, sizeof *out);
  if (sm->codec == DISCO_SDP_CODEC_NONE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no codec negotiated");
      return FALSE;
    }
  out->codec = map[sm->codec];
  out->payload_type = (guint8)sm->payload_type;
  out->telephone_event_pt = sm->telephone_event_pt;
  /* On hold with 0.0.0.0 the room still needs an address to demux by. */
  const char *addr = sm->remote_address ? sm->remote_address : "0.0.0.0";
  g_autoptr (GInetAddress) inet = g_inet_address_new_from_string (addr);
  if (inet == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "remote media address '%s' is not numeric", addr);
      return FALSE;
    }
  out->remote_rtp = G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (inet, sm->remote_rtp_port));
  out->remote_rtcp
      = sm->rtcp_mux
            ? NULL
            : G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (inet, sm->remote_rtcp_port));
  out->ptime_ms = sm->ptime_ms;
  out->opus_fec = sm->opus_fec;
  out->send = sm->send;
  out->recv = sm->recv;
  return TRUE;
}

static void
clear_params (DiscoMediaParticipantParams *p)
{
  g_clear_object (&p->remote_rtp);
  g_clear_object (&p->remote_rtcp);
}
#endif

gboolean
disco_conference_media_add (DiscoConferenceMedia *m, DiscoParticipant *p, GError **error)
{
#ifdef DISCO_HAVE_MEDIA_ROOM
  DiscoMediaParticipantParams params;
  if (!fill_params (p, &params, error))
    return FALSE;
  gboolean ok = disco_media_room_add_participant (m->room, p->id, &params, error);
  clear_params (&params);
  if (ok)
    video_add (m, p);
  return ok;
#else
  return TRUE;
#endif
}

gboolean
disco_conference_media_update (DiscoConferenceMedia *m, DiscoParticipant *p, GError **error)
{
#ifdef DISCO_HAVE_MEDIA_ROOM
  DiscoMediaParticipantParams params;
  if (!fill_params (p, &params, error))
    return FALSE;
  gboolean ok = disco_media_room_update_participant (m->room, p->id, &params, error);
  clear_params (&params);
  /* The video room has no update: the new offer replaces the old leg. */
  if (m->video)
    disco_video_room_remove_participant (m->video, p->id);
  if (ok)
    video_add (m, p);
  return ok;
#else
  return TRUE;
#endif
}

void
disco_conference_media_remove (DiscoConferenceMedia *m, DiscoParticipant *p)
{
#ifdef DISCO_HAVE_MEDIA_ROOM
  disco_media_room_remove_participant (m->room, p->id);
  if (m->video)
    disco_video_room_remove_participant (m->video, p->id);
#endif
}

#define CASCADE_PT 96

gboolean
disco_conference_media_add_cascade (DiscoConferenceMedia *m, const char *peer_id,
                                    const char *hostport, GError **error)
{
  g_autoptr (GInetSocketAddress) addr = disco_address_parse (hostport, error);
  if (addr == NULL)
    return FALSE;
#ifdef DISCO_HAVE_MEDIA_ROOM
  disco_media_room_remove_cascade_leg (m->room, peer_id);
  return disco_media_room_add_cascade_leg (m->room, peer_id, addr, DISCO_MEDIA_CODEC_OPUS,
                                           CASCADE_PT, error);
#else
  return TRUE;
#endif
}

void
disco_conference_media_remove_cascade (DiscoConferenceMedia *m, const char *peer_id)
{
#ifdef DISCO_HAVE_MEDIA_ROOM
  disco_media_room_remove_cascade_leg (m->room, peer_id);
#endif
}

gboolean
disco_conference_media_stats (DiscoConferenceMedia *m, DiscoParticipant *p, double *loss_percent,
                              gboolean *talking, guint64 *packets_in)
{
#ifdef DISCO_HAVE_MEDIA_ROOM
  DiscoMediaParticipantStats st;
  if (!disco_media_room_get_participant_stats (m->room, p->id, &st))
    return FALSE;
  *loss_percent = st.loss_fraction * 100.0;
  *talking = st.talking;
  *packets_in = st.packets_in;
  return TRUE;
#else
  /* The placeholder cannot tell participants apart. */
  *loss_percent = 0;
  *talking = FALSE;
  *packets_in = m->packets_in;
  return TRUE;
#endif
}

gboolean
disco_conference_media_video_stats (DiscoConferenceMedia *m, DiscoParticipant *p,
                                    guint64 *packets_in, guint64 *packets_out)
{
#ifdef DISCO_HAVE_MEDIA_ROOM
  DiscoVideoParticipantStats st;
  if (m->video == NULL || !disco_video_room_get_participant_stats (m->video, p->id, &st))
    return FALSE;
  *packets_in = st.packets_in;
  *packets_out = st.packets_out;
  return TRUE;
#else
  return FALSE;
#endif
}
