/* reload-wire.h: RELOAD (RFC 6940) wire codec.
 *
 * Encodes and decodes whole RELOAD messages (forwarding header, message
 * contents of every RFC 6940 message code, extensions, security block),
 * StoredData in all three data models, and fragments / reassembles messages
 * (RFC 6940 §6.7).  The decoder is strict and bounds-checked: it is meant for
 * untrusted bytes straight off a link.
 *
 * Ownership conventions (whole header):
 *  - Every struct that holds pointers has a _free (heap) or _clear (embedded)
 *    function releasing everything it points to.  Containers own their
 *    elements: GPtrArrays are created with the element's free function,
 *    GArrays of structs that hold pointers have a clear function set.
 *  - Opaque byte fields are GBytes (owned, one reference).  After a decode they
 *    are slices of one GBytes holding the input, so decoding copies the input
 *    once and never again.  NULL and an empty GBytes encode the same (length 0).
 *  - Strings in ICE fields (ufrag, password, role, foundation) are owned
 *    NUL-terminated gchar*; the decoder rejects embedded NULs.
 *  - Encoders append to a caller-owned GByteArray and never take ownership of
 *    their input.  On failure they leave @out as it was.
 *  - DiscoReloadStoredData is reference counted so the storage layer can keep
 *    a decoded value and put the same object into a FetchAns without copying.
 *
 * Node-IDs are fixed at 16 bytes (CHORD-RELOAD, the <node-id-length> default).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* ---- constants ---------------------------------------------------------- */

#define DISCO_RELOAD_TOKEN 0xd2454c4fu
#define DISCO_RELOAD_VERSION 0x0a
#define DISCO_RELOAD_FORWARDING_HEADER_FIXED_LEN 38
#define DISCO_RELOAD_FRAGMENT_UNFRAGMENTED 0xC0000000u
#define DISCO_RELOAD_FRAGMENT_BIT 0x80000000u      /* MUST be 1 */
#define DISCO_RELOAD_FRAGMENT_LAST_BIT 0x40000000u /* last fragment */
#define DISCO_RELOAD_FRAGMENT_RESERVED_MASK 0x3F000000u
#define DISCO_RELOAD_FRAGMENT_OFFSET_MASK 0x00FFFFFFu
#define DISCO_RELOAD_DEFAULT_TTL 100
#define DISCO_RELOAD_DEFAULT_MAX_MESSAGE_SIZE 5000
#define DISCO_RELOAD_REASSEMBLY_TIMEOUT_US (15 * G_USEC_PER_SEC)
#define DISCO_RELOAD_NODE_ID_LENGTH 16
#define DISCO_RELOAD_RESOURCE_ID_MAX 255
#define DISCO_RELOAD_ARRAY_APPEND 0xFFFFFFFFu /* ArrayEntry.index on Store */
#define DISCO_RELOAD_ARRAY_LAST 0xFFFFFFFFu   /* ArrayRange "last element" */

/* Fixed private Kind-ID used by tests (0xF0000D15). */
#define DISCO_RELOAD_KIND_DISCO_TEST 4026535189u

typedef guint32 DiscoReloadKindId;

enum
{
  DISCO_RELOAD_KIND_INVALID = 0x0,
  DISCO_RELOAD_KIND_SIP_REGISTRATION = 0x1,
  DISCO_RELOAD_KIND_TURN_SERVICE = 0x2,
  DISCO_RELOAD_KIND_CERTIFICATE_BY_NODE = 0x3,
  DISCO_RELOAD_KIND_ACCESS_CONTROL_LIST = 0x4,
  DISCO_RELOAD_KIND_CERTIFICATE_BY_USER = 0x10,
  DISCO_RELOAD_KIND_REDIR = 0x104,
};

/* Message codes (RFC 6940 §14.8).  Requests are odd, answer = request + 1. */
typedef enum
{
  DISCO_RELOAD_PROBE_REQ = 0x01,
  DISCO_RELOAD_PROBE_ANS = 0x02,
  DISCO_RELOAD_ATTACH_REQ = 0x03,
  DISCO_RELOAD_ATTACH_ANS = 0x04,
  DISCO_RELOAD_STORE_REQ = 0x07,
  DISCO_RELOAD_STORE_ANS = 0x08,
  DISCO_RELOAD_FETCH_REQ = 0x09,
  DISCO_RELOAD_FETCH_ANS = 0x0A,
  DISCO_RELOAD_FIND_REQ = 0x0D,
  DISCO_RELOAD_FIND_ANS = 0x0E,
  DISCO_RELOAD_JOIN_REQ = 0x0F,
  DISCO_RELOAD_JOIN_ANS = 0x10,
  DISCO_RELOAD_LEAVE_REQ = 0x11,
  DISCO_RELOAD_LEAVE_ANS = 0x12,
  DISCO_RELOAD_UPDATE_REQ = 0x13,
  DISCO_RELOAD_UPDATE_ANS = 0x14,
  DISCO_RELOAD_ROUTE_QUERY_REQ = 0x15,
  DISCO_RELOAD_ROUTE_QUERY_ANS = 0x16,
  DISCO_RELOAD_PING_REQ = 0x17,
  DISCO_RELOAD_PING_ANS = 0x18,
  DISCO_RELOAD_STAT_REQ = 0x19,
  DISCO_RELOAD_STAT_ANS = 0x1A,
  DISCO_RELOAD_APP_ATTACH_REQ = 0x1D,
  DISCO_RELOAD_APP_ATTACH_ANS = 0x1E,
  DISCO_RELOAD_CONFIG_UPDATE_REQ = 0x21,
  DISCO_RELOAD_CONFIG_UPDATE_ANS = 0x22,
  DISCO_RELOAD_ERROR = 0xFFFF,
} DiscoReloadMessageCode;

#define DISCO_RELOAD_MESSAGE_CODE_IS_REQUEST(c) (((c)&1) != 0 && (c) != DISCO_RELOAD_ERROR)

/* Error codes carried in ErrorResponse (RFC 6940 §14.9). */
typedef enum
{
  DISCO_RELOAD_ERROR_FORBIDDEN = 0x02,
  DISCO_RELOAD_ERROR_NOT_FOUND = 0x03,
  DISCO_RELOAD_ERROR_REQUEST_TIMEOUT = 0x04,
  DISCO_RELOAD_ERROR_GENERATION_COUNTER_TOO_LOW = 0x05,
  DISCO_RELOAD_ERROR_INCOMPATIBLE_WITH_OVERLAY = 0x06,
  DISCO_RELOAD_ERROR_UNSUPPORTED_FORWARDING_OPTION = 0x07,
  DISCO_RELOAD_ERROR_DATA_TOO_LARGE = 0x08,
  DISCO_RELOAD_ERROR_DATA_TOO_OLD = 0x09,
  DISCO_RELOAD_ERROR_TTL_EXCEEDED = 0x0A,
  DISCO_RELOAD_ERROR_MESSAGE_TOO_LARGE = 0x0B,
  DISCO_RELOAD_ERROR_UNKNOWN_KIND = 0x0C,
  DISCO_RELOAD_ERROR_UNKNOWN_EXTENSION = 0x0D,
  DISCO_RELOAD_ERROR_RESPONSE_TOO_LARGE = 0x0E,
  DISCO_RELOAD_ERROR_CONFIG_TOO_OLD = 0x0F,
  DISCO_RELOAD_ERROR_CONFIG_TOO_NEW = 0x10,
  DISCO_RELOAD_ERROR_IN_PROGRESS = 0x11,
  DISCO_RELOAD_ERROR_EXP_A = 0x12,
  DISCO_RELOAD_ERROR_EXP_B = 0x13,
  DISCO_RELOAD_ERROR_INVALID_MESSAGE = 0x14,
  /* RFC 7851 diagnostics (Wireshark 4.0 still prints its pre-RFC numbers). */
  DISCO_RELOAD_ERROR_UNDERLAY_DESTINATION_UNREACHABLE = 0x15,
  DISCO_RELOAD_ERROR_UNDERLAY_TIME_EXCEEDED = 0x16,
  DISCO_RELOAD_ERROR_MESSAGE_EXPIRED = 0x17,
  DISCO_RELOAD_ERROR_UPSTREAM_MISROUTING = 0x18,
  DISCO_RELOAD_ERROR_LOOP_DETECTED = 0x19,
  DISCO_RELOAD_ERROR_TTL_HOPS_EXCEEDED = 0x1A,
} DiscoReloadErrorCode;

/* ---- GError domain ------------------------------------------------------ */

#define DISCO_RELOAD_WIRE_ERROR (disco_reload_wire_error_quark ())
GQuark disco_reload_wire_error_quark (void);

/* Codes below 0x100 ARE the RFC error code the node should answer with.
 * Codes from 0x100 are codec conditions; map them with
 * disco_reload_wire_error_to_rfc(). */
typedef enum
{
  DISCO_RELOAD_WIRE_ERROR_UNSUPPORTED_FORWARDING_OPTION = 0x07,
  DISCO_RELOAD_WIRE_ERROR_TTL_EXCEEDED = 0x0A,      /* ttl > DecodeOptions.initial_ttl */
  DISCO_RELOAD_WIRE_ERROR_MESSAGE_TOO_LARGE = 0x0B, /* > DecodeOptions.max_message_size */
  DISCO_RELOAD_WIRE_ERROR_UNKNOWN_EXTENSION = 0x0D, /* unknown critical message extension */
  DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE = 0x14,   /* malformed body / structure */
  DISCO_RELOAD_WIRE_ERROR_BAD_TOKEN = 0x100,        /* not RELOAD: drop silently */
  DISCO_RELOAD_WIRE_ERROR_BAD_VERSION,              /* version != 0x0a: drop */
  DISCO_RELOAD_WIRE_ERROR_BAD_FRAGMENT,             /* fragment bit 31 clear / reserved bits */
  DISCO_RELOAD_WIRE_ERROR_TRUNCATED,                /* input shorter than a length says */
  DISCO_RELOAD_WIRE_ERROR_BAD_LENGTH, /* header length != input size, trailing bytes */
  DISCO_RELOAD_WIRE_ERROR_FRAGMENTED, /* is a fragment: feed the reassembler */
  DISCO_RELOAD_WIRE_ERROR_REASSEMBLY, /* overlapping / abusive / oversized fragments */
  DISCO_RELOAD_WIRE_ERROR_ENCODE,     /* a value does not fit its wire length field */
} DiscoReloadWireError;

/* The RFC error code to answer a decode failure with, or 0 when the RFC says
 * to drop silently (bad token/version/fragment bit) or no answer applies. */
guint16 disco_reload_wire_error_to_rfc (const GError *error);

/* ---- identifiers ---------------------------------------------------------- */

typedef struct
{
  guint8 id[DISCO_RELOAD_NODE_ID_LENGTH];
} DiscoReloadNodeId;

/* opaque ResourceId<0..2^8-1>; CHORD-RELOAD uses 16 bytes. */
typedef struct
{
  guint8 len;
  guint8 id[DISCO_RELOAD_RESOURCE_ID_MAX];
} DiscoReloadResourceId;

gboolean disco_reload_node_id_equal (const DiscoReloadNodeId *a, const DiscoReloadNodeId *b);
gboolean disco_reload_node_id_is_wildcard (const DiscoReloadNodeId *id); /* all ones */
void disco_reload_resource_id_set (DiscoReloadResourceId *rid, const guint8 *bytes, gsize len);

/* Low 32 bits of SHA-1(instance name): the forwarding header "overlay" field. */
guint32 disco_reload_overlay_hash (const char *instance_name);

/* ---- forwarding header ---------------------------------------------------- */

typedef enum
{
  DISCO_RELOAD_DESTINATION_NODE = 1,
  DISCO_RELOAD_DESTINATION_RESOURCE = 2,
  DISCO_RELOAD_DESTINATION_OPAQUE = 3,
  /* 2-byte compressed form: top bit of the first byte set (§6.3.2.2).
   * Not a wire type code; only selects the encoding. */
  DISCO_RELOAD_DESTINATION_COMPRESSED = 0x100,
} DiscoReloadDestinationType;

typedef struct
{
  DiscoReloadDestinationType type;
  union
  {
    DiscoReloadNodeId node;
    DiscoReloadResourceId resource;
    struct
    {
      guint8 len;
      guint8 data[255];
    } opaque;
    guint16 compressed; /* top bit must be set */
  };
} DiscoReloadDestination;

void disco_reload_destination_set_node (DiscoReloadDestination *d, const DiscoReloadNodeId *id);
void disco_reload_destination_set_resource (DiscoReloadDestination *d,
                                            const DiscoReloadResourceId *rid);

/* Forwarding option flags (§6.3.2.3). */
#define DISCO_RELOAD_OPTION_FORWARD_CRITICAL 0x01
#define DISCO_RELOAD_OPTION_DESTINATION_CRITICAL 0x02
#define DISCO_RELOAD_OPTION_RESPONSE_COPY 0x04

typedef struct
{
  guint8 type;
  guint8 flags;
  GBytes *value; /* owned; may be NULL (empty) */
} DiscoReloadForwardingOption;

typedef struct
{
  guint32 overlay;
  guint16 configuration_sequence;
  guint8 version; /* DISCO_RELOAD_VERSION */
  guint8 ttl;
  guint32 fragment; /* DISCO_RELOAD_FRAGMENT_UNFRAGMENTED unless a fragment */
  guint32 length;   /* set by encode/decode: total bytes of this message */
  guint64 transaction_id;
  guint32 max_response_length;
  GArray *via_list;         /* DiscoReloadDestination */
  GArray *destination_list; /* DiscoReloadDestination */
  GArray *options;          /* DiscoReloadForwardingOption, clear func set */
} DiscoReloadForwardingHeader;

/* Initialises @hdr with the defaults (version 0x0a, ttl 100, unfragmented)
 * and empty lists.  Release with disco_reload_forwarding_header_clear(). */
void disco_reload_forwarding_header_init (DiscoReloadForwardingHeader *hdr);
void disco_reload_forwarding_header_clear (DiscoReloadForwardingHeader *hdr);

/* Decodes only the forwarding header at the start of @data (the fast path
 * for forwarding peers, and the way to learn transaction id / via list to
 * answer a message whose full decode failed).  @hdr must be initialised.
 * Checks token, version, fragment bit and that hdr->length <= @len.
 * *@header_len gets the bytes used (38 + lists). */
gboolean disco_reload_forwarding_header_decode (const guint8 *data, gsize len,
                                                DiscoReloadForwardingHeader *hdr, gsize *header_len,
                                                GError **error);

/* Appends the encoded header to @out, with length = header size +
 * @payload_len (the bytes the caller appends next).  hdr->length is not
 * read.  Fails if a list does not fit its 16-bit length. */
gboolean disco_reload_forwarding_header_encode (const DiscoReloadForwardingHeader *hdr,
                                                gsize payload_len, GByteArray *out, GError **error);

/* Checks hdr->options against the option types this node understands
 * (@known, @n_known).  An unknown option flagged FORWARD_CRITICAL (when
 * forwarding, @at_destination FALSE) or DESTINATION_CRITICAL (when
 * @at_destination) fails with UNSUPPORTED_FORWARDING_OPTION (§6.3.2.3). */
gboolean disco_reload_forwarding_options_check (const DiscoReloadForwardingHeader *hdr,
                                                const guint8 *known, gsize n_known,
                                                gboolean at_destination, GError **error);

/* A Destination list (concatenated Destinations, no overall length), e.g. the
 * <destination> part of a reload:// URI or SipRegistration's destination_list. */
gboolean disco_reload_destination_list_encode (const GArray *list, GByteArray *out, GError **error);
/* Appends to @list (DiscoReloadDestination) every destination in @data. */
gboolean disco_reload_destination_list_decode (const guint8 *data, gsize len, GArray *list,
                                               GError **error);

/* ---- security block ----------------------------------------------------- */

typedef enum
{
  DISCO_RELOAD_SIGNER_IDENTITY_CERT_HASH = 1,
  DISCO_RELOAD_SIGNER_IDENTITY_CERT_HASH_NODE_ID = 2,
  DISCO_RELOAD_SIGNER_IDENTITY_NONE = 3,
} DiscoReloadSignerIdentityType;

/* TLS HashAlgorithm / SignatureAlgorithm values. */
#define DISCO_RELOAD_HASH_NONE 0
#define DISCO_RELOAD_HASH_SHA1 2
#define DISCO_RELOAD_HASH_SHA256 4
#define DISCO_RELOAD_SIG_ANONYMOUS 0
#define DISCO_RELOAD_SIG_RSA 1
#define DISCO_RELOAD_CERT_X509 0

typedef struct
{
  DiscoReloadSignerIdentityType type;
  guint8 hash_alg; /* cert_hash / cert_hash_node_id only */
  GBytes *hash;    /* certificate_hash / certificate_node_id_hash; NULL for none */
} DiscoReloadSignerIdentity;

typedef struct
{
  guint8 hash_alg; /* SignatureAndHashAlgorithm: hash first ... */
  guint8 sig_alg;  /* ... then signature */
  DiscoReloadSignerIdentity identity;
  GBytes *value; /* signature_value<0..2^16-1> */
} DiscoReloadSignature;

typedef struct
{
  guint8 type;         /* DISCO_RELOAD_CERT_X509 */
  GBytes *certificate; /* DER */
} DiscoReloadGenericCertificate;

typedef struct
{
  GPtrArray *certificates; /* DiscoReloadGenericCertificate*, free func set */
  DiscoReloadSignature signature;
} DiscoReloadSecurityBlock;

void disco_reload_signer_identity_clear (DiscoReloadSignerIdentity *id);
void disco_reload_signature_clear (DiscoReloadSignature *sig);
/* Deep copy into an uninitialised @dst (GBytes are shared by reference). */
void disco_reload_signature_copy (const DiscoReloadSignature *src, DiscoReloadSignature *dst);
/* Sets identity none, algorithm {0,0}, empty value (synthesised Fetch entries). */
void disco_reload_signature_set_none (DiscoReloadSignature *sig);
DiscoReloadGenericCertificate *disco_reload_generic_certificate_new (guint8 type, GBytes *der);
void disco_reload_generic_certificate_free (DiscoReloadGenericCertificate *cert);

gboolean disco_reload_signer_identity_encode (const DiscoReloadSignerIdentity *id, GByteArray *out,
                                              GError **error);
gboolean disco_reload_signature_encode (const DiscoReloadSignature *sig, GByteArray *out,
                                        GError **error);

/* ---- storage structures (§7) ---------------------------------------------- */

typedef enum
{
  DISCO_RELOAD_DATA_MODEL_UNKNOWN = 0, /* not yet resolved: raw bytes kept */
  DISCO_RELOAD_DATA_MODEL_SINGLE = 1,
  DISCO_RELOAD_DATA_MODEL_ARRAY = 2,
  DISCO_RELOAD_DATA_MODEL_DICTIONARY = 3,
} DiscoReloadDataModel;

/* DataValue / ArrayEntry / DictionaryEntry, selected by @model. */
typedef struct
{
  DiscoReloadDataModel model;
  guint32 index; /* ARRAY: ArrayEntry.index */
  GBytes *key;   /* DICTIONARY: DictionaryKey<0..2^16-1>, owned */
  gboolean exists;
  GBytes *value; /* DataValue.value<0..2^32-1>, owned */
} DiscoReloadStoredDataValue;

void disco_reload_stored_data_value_clear (DiscoReloadStoredDataValue *v);
/* Appends the StoredDataValue wire encoding (DataValue, ArrayEntry or
 * DictionaryEntry).  Fails for DISCO_RELOAD_DATA_MODEL_UNKNOWN. */
gboolean disco_reload_stored_data_value_encode (const DiscoReloadStoredDataValue *v,
                                                GByteArray *out, GError **error);

typedef struct
{
  gint ref_count;       /* private */
  guint64 storage_time; /* ms since 1970 */
  guint32 lifetime;     /* seconds */
  DiscoReloadStoredDataValue value;
  DiscoReloadSignature signature;
  /* When value.model is UNKNOWN (the decoder did not know the kind's data
   * model): StoredDataValue || Signature, undecoded; resolve with
   * disco_reload_stored_data_resolve().  NULL otherwise. */
  GBytes *undecoded;
} DiscoReloadStoredData;

/* A new StoredData (ref 1) with the given model, exists TRUE, empty value,
 * and a none signature. */
DiscoReloadStoredData *disco_reload_stored_data_new (DiscoReloadDataModel model);
DiscoReloadStoredData *disco_reload_stored_data_ref (DiscoReloadStoredData *sd);
void disco_reload_stored_data_unref (DiscoReloadStoredData *sd);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoReloadStoredData, disco_reload_stored_data_unref)

/* Decodes sd->undecoded with @model into sd->value / sd->signature. */
gboolean disco_reload_stored_data_resolve (DiscoReloadStoredData *sd, DiscoReloadDataModel model,
                                           GError **error);
/* Whole StoredData (incl. its uint32 length). */
gboolean disco_reload_stored_data_encode (const DiscoReloadStoredData *sd, GByteArray *out,
                                          GError **error);
/* Decodes one StoredData occupying exactly @len bytes; @model may be UNKNOWN. */
DiscoReloadStoredData *disco_reload_stored_data_decode (const guint8 *data, gsize len,
                                                        DiscoReloadDataModel model, GError **error);

typedef struct
{
  guint32 first;
  guint32 last; /* DISCO_RELOAD_ARRAY_LAST = last element */
} DiscoReloadArrayRange;

typedef struct
{
  DiscoReloadKindId kind;
  guint64 generation;
  DiscoReloadDataModel model;
  GArray *indices;   /* ARRAY: DiscoReloadArrayRange */
  GPtrArray *keys;   /* DICTIONARY: GBytes*; empty = wildcard (all keys) */
  GBytes *undecoded; /* model UNKNOWN: the select arm bytes */
} DiscoReloadStoredDataSpecifier;

DiscoReloadStoredDataSpecifier *disco_reload_stored_data_specifier_new (DiscoReloadKindId kind,
                                                                        DiscoReloadDataModel model);
void disco_reload_stored_data_specifier_free (DiscoReloadStoredDataSpecifier *spec);

typedef struct
{
  DiscoReloadKindId kind;
  guint64 generation_counter;
  GPtrArray *values; /* DiscoReloadStoredData*, unref func set */
} DiscoReloadStoreKindData;

DiscoReloadStoreKindData *disco_reload_store_kind_data_new (DiscoReloadKindId kind,
                                                            guint64 generation_counter);
void disco_reload_store_kind_data_free (DiscoReloadStoreKindData *kd);

typedef struct
{
  DiscoReloadResourceId resource;
  guint8 replica_number;
  GPtrArray *kind_data; /* DiscoReloadStoreKindData* */
} DiscoReloadStoreReq;

typedef struct
{
  DiscoReloadKindId kind;
  guint64 generation_counter;
  GArray *replicas; /* DiscoReloadNodeId */
} DiscoReloadStoreKindResponse;

DiscoReloadStoreKindResponse *disco_reload_store_kind_response_new (DiscoReloadKindId kind,
                                                                    guint64 generation_counter);
void disco_reload_store_kind_response_free (DiscoReloadStoreKindResponse *r);

typedef struct
{
  GPtrArray *kind_responses; /* DiscoReloadStoreKindResponse* */
} DiscoReloadStoreAns;

void disco_reload_store_ans_init (DiscoReloadStoreAns *ans);
void disco_reload_store_ans_clear (DiscoReloadStoreAns *ans);

/* FetchReq and StatReq (identical layout). */
typedef struct
{
  DiscoReloadResourceId resource;
  GPtrArray *specifiers; /* DiscoReloadStoredDataSpecifier* */
} DiscoReloadFetchReq;

typedef struct
{
  DiscoReloadKindId kind;
  guint64 generation;
  GPtrArray *values; /* DiscoReloadStoredData* */
} DiscoReloadFetchKindResponse;

DiscoReloadFetchKindResponse *disco_reload_fetch_kind_response_new (DiscoReloadKindId kind,
                                                                    guint64 generation);
void disco_reload_fetch_kind_response_free (DiscoReloadFetchKindResponse *r);

typedef struct
{
  GPtrArray *kind_responses; /* DiscoReloadFetchKindResponse* */
} DiscoReloadFetchAns;

/* StoredMetaData (Stat).  Its leading uint32 is treated like StoredData's
 * length (bytes after it), as Wireshark and danpascu/reload do. */
typedef struct
{
  guint64 storage_time;
  guint32 lifetime;
  DiscoReloadDataModel model;
  guint32 index; /* ARRAY */
  GBytes *key;   /* DICTIONARY */
  gboolean exists;
  guint32 value_length;
  guint8 hash_algorithm;
  GBytes *hash_value; /* opaque<0..255> */
  GBytes *undecoded;  /* model UNKNOWN: MetaDataValue bytes */
} DiscoReloadStoredMetaData;

DiscoReloadStoredMetaData *disco_reload_stored_meta_data_new (DiscoReloadDataModel model);
void disco_reload_stored_meta_data_free (DiscoReloadStoredMetaData *md);

typedef struct
{
  DiscoReloadKindId kind;
  guint64 generation;
  GPtrArray *values; /* DiscoReloadStoredMetaData* */
} DiscoReloadStatKindResponse;

DiscoReloadStatKindResponse *disco_reload_stat_kind_response_new (DiscoReloadKindId kind,
                                                                  guint64 generation);
void disco_reload_stat_kind_response_free (DiscoReloadStatKindResponse *r);

typedef struct
{
  GPtrArray *kind_responses; /* DiscoReloadStatKindResponse* */
} DiscoReloadStatAns;

typedef struct
{
  DiscoReloadResourceId resource;
  GArray *kinds; /* DiscoReloadKindId */
} DiscoReloadFindReq;

typedef struct
{
  DiscoReloadKindId kind;
  DiscoReloadResourceId closest; /* len 0 allowed on decode */
} DiscoReloadFindKindData;

typedef struct
{
  GArray *results; /* DiscoReloadFindKindData */
} DiscoReloadFindAns;

/* ---- connection management (§6.5) ------------------------------------------ */

typedef struct
{
  guint8 type; /* 1 IPv4, 2 IPv6 */
  guint8 addr[16];
  guint16 port;
} DiscoReloadIpAddressPort;

typedef enum
{
  DISCO_RELOAD_OVERLAY_LINK_DTLS_UDP_SR = 1,
  DISCO_RELOAD_OVERLAY_LINK_DTLS_UDP_SR_NO_ICE = 3,
  DISCO_RELOAD_OVERLAY_LINK_TLS_TCP_FH_NO_ICE = 4,
} DiscoReloadOverlayLinkType;

typedef enum
{
  DISCO_RELOAD_CAND_HOST = 1,
  DISCO_RELOAD_CAND_SRFLX = 2,
  DISCO_RELOAD_CAND_RELAY = 4,
} DiscoReloadCandType;

typedef struct
{
  GBytes *name;
  GBytes *value;
} DiscoReloadIceExtension;

typedef struct
{
  DiscoReloadIpAddressPort addr_port;
  guint8 overlay_link; /* DiscoReloadOverlayLinkType (other values are kept) */
  gchar *foundation;
  guint32 priority;
  guint8 type;                            /* DiscoReloadCandType */
  DiscoReloadIpAddressPort rel_addr_port; /* srflx / relay only */
  GArray *extensions;                     /* DiscoReloadIceExtension, clear func set */
} DiscoReloadIceCandidate;

DiscoReloadIceCandidate *disco_reload_ice_candidate_new (void);
void disco_reload_ice_candidate_free (DiscoReloadIceCandidate *c);

/* AttachReqAns (Attach request and answer) and AppAttachReq/Ans. */
typedef struct
{
  gchar *ufrag;
  gchar *password;
  guint16 application;   /* AppAttach only */
  gchar *role;           /* "passive" in Attach requests, "active" in answers */
  GPtrArray *candidates; /* DiscoReloadIceCandidate* */
  gboolean send_update;  /* Attach only */
} DiscoReloadAttach;

/* ---- overlay maintenance ------------------------------------------------------ */

typedef enum
{
  DISCO_RELOAD_PROBE_RESPONSIBLE_SET = 1,
  DISCO_RELOAD_PROBE_NUM_RESOURCES = 2,
  DISCO_RELOAD_PROBE_UPTIME = 3,
} DiscoReloadProbeInformationType;

typedef struct
{
  GArray *requested_info; /* guint8 */
} DiscoReloadProbeReq;

typedef struct
{
  guint8 type;
  guint32 value;
} DiscoReloadProbeInformation;

typedef struct
{
  GArray *probe_info; /* DiscoReloadProbeInformation */
} DiscoReloadProbeAns;

/* JoinReq (node_id = joining peer), LeaveReq (leaving peer), JoinAns (node_id unused). */
typedef struct
{
  DiscoReloadNodeId node_id;
  GBytes *overlay_specific_data;
} DiscoReloadJoinLeave;

typedef enum
{
  DISCO_RELOAD_CHORD_UPDATE_PEER_READY = 1,
  DISCO_RELOAD_CHORD_UPDATE_NEIGHBORS = 2,
  DISCO_RELOAD_CHORD_UPDATE_FULL = 3,
} DiscoReloadChordUpdateType;

/* UpdateReq body for CHORD-RELOAD. */
typedef struct
{
  guint32 uptime;
  guint8 type;
  GArray *predecessors; /* DiscoReloadNodeId (neighbors, full) */
  GArray *successors;   /* DiscoReloadNodeId (neighbors, full) */
  GArray *fingers;      /* DiscoReloadNodeId (full) */
} DiscoReloadChordUpdate;

typedef enum
{
  DISCO_RELOAD_CHORD_LEAVE_FROM_SUCC = 1,
  DISCO_RELOAD_CHORD_LEAVE_FROM_PRED = 2,
} DiscoReloadChordLeaveType;

/* ChordLeaveData, carried in LeaveReq.overlay_specific_data. */
typedef struct
{
  guint8 type;
  GArray *node_ids; /* successors (from_succ) or predecessors (from_pred) */
} DiscoReloadChordLeaveData;

void disco_reload_chord_leave_data_init (DiscoReloadChordLeaveData *ld);
void disco_reload_chord_leave_data_clear (DiscoReloadChordLeaveData *ld);
GBytes *disco_reload_chord_leave_data_encode (const DiscoReloadChordLeaveData *ld, GError **error);
gboolean disco_reload_chord_leave_data_decode (GBytes *data, DiscoReloadChordLeaveData *ld,
                                               GError **error);

typedef struct
{
  gboolean send_update;
  DiscoReloadDestination destination;
  GBytes *overlay_specific_data;
} DiscoReloadRouteQueryReq;

typedef struct
{
  DiscoReloadNodeId next_peer; /* ChordRouteQueryAns */
} DiscoReloadRouteQueryAns;

typedef struct
{
  GBytes *padding;
} DiscoReloadPingReq;

typedef struct
{
  guint64 response_id;
  guint64 time; /* ms since 1970 */
} DiscoReloadPingAns;

typedef enum
{
  DISCO_RELOAD_CONFIG_UPDATE_CONFIG = 1,
  DISCO_RELOAD_CONFIG_UPDATE_KIND = 2,
} DiscoReloadConfigUpdateType;

typedef struct
{
  guint8 type;
  GBytes *config_data; /* CONFIG: opaque<0..2^24-1> */
  GPtrArray *kinds;    /* KIND: GBytes* each one kind-block (opaque<0..2^16-1>) */
} DiscoReloadConfigUpdateReq;

typedef struct
{
  guint16 error_code; /* DiscoReloadErrorCode */
  /* Generic error_info (UTF-8 text); ignored by encode when one of the
   * structured forms below is set. */
  GBytes *error_info;
  /* GENERATION_COUNTER_TOO_LOW: a StoreAns (decoded; encoded if non-NULL). */
  DiscoReloadStoreAns *store_ans;
  /* UNKNOWN_KIND: KindId list (decoded; encoded if non-NULL). */
  GArray *unknown_kinds;
} DiscoReloadErrorResponse;

/* ---- whole messages ---------------------------------------------------------- */

typedef struct
{
  guint16 type;
  gboolean critical;
  GBytes *contents;
} DiscoReloadMessageExtension;

typedef union
{
  DiscoReloadProbeReq probe_req;
  DiscoReloadProbeAns probe_ans;
  DiscoReloadAttach attach; /* ATTACH_REQ/ANS, APP_ATTACH_REQ/ANS */
  DiscoReloadStoreReq store_req;
  DiscoReloadStoreAns store_ans;
  DiscoReloadFetchReq fetch_req; /* FETCH_REQ and STAT_REQ */
  DiscoReloadFetchAns fetch_ans;
  DiscoReloadStatAns stat_ans;
  DiscoReloadFindReq find_req;
  DiscoReloadFindAns find_ans;
  DiscoReloadJoinLeave join_leave; /* JOIN_REQ, JOIN_ANS, LEAVE_REQ */
  DiscoReloadChordUpdate update_req;
  DiscoReloadRouteQueryReq route_query_req;
  DiscoReloadRouteQueryAns route_query_ans;
  DiscoReloadPingReq ping_req;
  DiscoReloadPingAns ping_ans;
  DiscoReloadConfigUpdateReq config_update_req;
  DiscoReloadErrorResponse error;
  GBytes *raw; /* any other code (Exp_A/B, Path_Track, unassigned): body kept opaque */
} DiscoReloadBody;

typedef struct
{
  DiscoReloadForwardingHeader header;
  guint16 message_code;
  DiscoReloadBody body; /* arm selected by message_code */
  GArray *extensions;   /* DiscoReloadMessageExtension, clear func set */
  DiscoReloadSecurityBlock security;
} DiscoReloadMessage;

/* A message with a default header, the body arm for @message_code
 * initialised (empty containers) and a "none" signature. */
DiscoReloadMessage *disco_reload_message_new (guint16 message_code);
void disco_reload_message_free (DiscoReloadMessage *msg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoReloadMessage, disco_reload_message_free)

/* Returns the data model of @kind, or DISCO_RELOAD_DATA_MODEL_UNKNOWN. */
typedef DiscoReloadDataModel (*DiscoReloadKindModelFunc) (DiscoReloadKindId kind,
                                                          gpointer user_data);

typedef struct
{
  /* 0 = no limit.  Larger input fails with MESSAGE_TOO_LARGE. */
  gsize max_message_size;
  /* 0 = not checked.  ttl > initial_ttl fails with TTL_EXCEEDED. */
  guint8 initial_ttl;
  /* Kind -> data model for StoredData / specifiers / metadata.  When NULL or
   * it answers UNKNOWN, the built-in IANA kinds are used, and values of still
   * unknown kinds are kept undecoded (see DiscoReloadStoredData.undecoded). */
  DiscoReloadKindModelFunc kind_model;
  gpointer kind_model_data;
  /* Message extension types the node understands; a critical extension not
   * listed fails with UNKNOWN_EXTENSION. */
  const guint16 *known_extensions;
  gsize n_known_extensions;
} DiscoReloadDecodeOptions;

/* The built-in data model of IANA kinds (1, 2, 3, 4, 0x10, 0x104). */
DiscoReloadDataModel disco_reload_kind_builtin_model (DiscoReloadKindId kind);

/* Encodes @msg into @out (appending), computing every length field; the
 * header's length field is written, msg->header.length is not read. */
gboolean disco_reload_message_encode (const DiscoReloadMessage *msg, GByteArray *out,
                                      GError **error);

/* Decodes one complete, unfragmented message occupying exactly @len bytes.
 * Fragments fail with DISCO_RELOAD_WIRE_ERROR_FRAGMENTED (use the
 * reassembler).  Copies @data once. */
gboolean disco_reload_message_decode (const guint8 *data, gsize len, DiscoReloadMessage **out,
                                      GError **error);
gboolean disco_reload_message_decode_full (GBytes *bytes, const DiscoReloadDecodeOptions *options,
                                           DiscoReloadMessage **out, GError **error);

/* Body only (MessageContents.message_body), e.g. for tests and tools. */
gboolean disco_reload_body_encode (guint16 message_code, const DiscoReloadBody *body,
                                   GByteArray *out, GError **error);

/* MessageContents: message_code || body<0..2^32-1> || extensions<0..2^32-1>. */
gboolean disco_reload_message_contents_encode (const DiscoReloadMessage *msg, GByteArray *out,
                                               GError **error);

/* ---- signature inputs (exact bytes to sign / verify) ---------------------------- */

/* RFC 6940 §6.3.4: overlay(4) || transaction_id(8) || MessageContents ||
 * SignerIdentity, all as on the wire.  @identity is the identity that is (or
 * will be) placed in msg->security.signature. */
gboolean disco_reload_message_signature_input (const DiscoReloadMessage *msg,
                                               const DiscoReloadSignerIdentity *identity,
                                               GByteArray *out, GError **error);

/* Same input taken straight from a received, complete message's bytes (no
 * re-encoding; the SignerIdentity is the one in its security block). */
gboolean disco_reload_message_signature_input_from_wire (const guint8 *data, gsize len,
                                                         GByteArray *out, GError **error);

/* RFC 6940 §7.1: resource_id || kind || storage_time || StoredDataValue ||
 * SignerIdentity.  resource_id is the raw Resource-ID bytes WITHOUT its
 * length prefix, kind uint32 BE, storage_time uint64 BE, StoredDataValue as
 * on the wire except that an ArrayEntry's index is written as 0 (§7.4.2.2).
 * This is the one place that decides the interpretation. */
gboolean disco_reload_stored_data_signature_input (const DiscoReloadResourceId *resource,
                                                   DiscoReloadKindId kind,
                                                   const DiscoReloadStoredData *sd,
                                                   const DiscoReloadSignerIdentity *identity,
                                                   GByteArray *out, GError **error);

/* ---- fragmentation (§6.7) ------------------------------------------------------ */

/* Splits the complete message @data into fragments of at most
 * @max_fragment_size bytes each (forwarding header repeated; equal-sized
 * payloads; each carries >= 256 payload bytes unless the payload is smaller).
 * Returns a GPtrArray of GBytes (one element, a copy, if it already fits). */
GPtrArray *disco_reload_message_fragment (const guint8 *data, gsize len, gsize max_fragment_size,
                                          GError **error);

typedef struct _DiscoReloadReassembler DiscoReloadReassembler;

/* @max_message_size bounds the reassembled message (0 = RFC default 5000);
 * @timeout_us drops incomplete reassemblies (0 = 15 s); @max_pending bounds
 * concurrent reassemblies (0 = 64). */
DiscoReloadReassembler *disco_reload_reassembler_new (gsize max_message_size, gint64 timeout_us,
                                                      guint max_pending);
void disco_reload_reassembler_free (DiscoReloadReassembler *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoReloadReassembler, disco_reload_reassembler_free)

/* Feeds one received message (fragment or not).  @now_us is a
 * g_get_monotonic_time() value; expired entries are dropped first.  On success
 * *@complete is the whole message (fragment field 0xC0000000, length fixed,
 * header of the last-received fragment) when it is complete, else NULL.
 * Fails (and drops that transaction's state) on overlap with different
 * bytes, conflicting last fragment, size over the bound, too many pending. */
gboolean disco_reload_reassembler_add (DiscoReloadReassembler *r, const guint8 *data, gsize len,
                                       gint64 now_us, GBytes **complete, GError **error);
/* Like _add, for fragments that arrived from @source (a link, say; NULL is
 * a source too).  Reassemblies are keyed by (source, transaction id), so a
 * source can neither join nor crowd out another's, and each source is held
 * to the limits of disco_reload_reassembler_set_source_limits().
 * *@message_code (may be NULL) gets the message code once the fragment at
 * offset 0 arrived (0 before), also when the call fails, so the caller can
 * tell an oversized request (answer Error_Message_Too_Large) from an
 * answer.  After a MESSAGE_TOO_LARGE failure the transaction's further
 * fragments fail with REASSEMBLY until its timeout, so it is refused once. */
gboolean disco_reload_reassembler_add_from (DiscoReloadReassembler *r, gconstpointer source,
                                            const guint8 *data, gsize len, gint64 now_us,
                                            GBytes **complete, guint16 *message_code,
                                            GError **error);
/* Per source: at most @max_pending reassemblies and @max_bytes buffered
 * payload bytes (0 = no per-source bound; the default). */
void disco_reload_reassembler_set_source_limits (DiscoReloadReassembler *r, guint max_pending,
                                                 gsize max_bytes);
/* For a fragment this node passes on without reassembling it (RFC 6940
 * §6.7: only the destination reassembles): its message code, read from the
 * offset-0 fragment or remembered from the one @source sent before for the
 * same transaction (until the last fragment or the timeout); 0 when
 * unknown.  @header_len: the fragment's forwarding header size. */
guint16 disco_reload_reassembler_transit_code (DiscoReloadReassembler *r, gconstpointer source,
                                               const guint8 *data, gsize len, gsize header_len,
                                               gint64 now_us);
/* Drops everything pending from @source (e.g. a link that closed). */
void disco_reload_reassembler_forget (DiscoReloadReassembler *r, gconstpointer source);
/* Drops reassemblies older than the timeout; returns how many. */
guint disco_reload_reassembler_expire (DiscoReloadReassembler *r, gint64 now_us);
guint disco_reload_reassembler_pending (DiscoReloadReassembler *r);
guint disco_reload_reassembler_pending_from (DiscoReloadReassembler *r, gconstpointer source);
gsize disco_reload_reassembler_bytes_from (DiscoReloadReassembler *r, gconstpointer source);

G_END_DECLS
