//! What every typed REST operation provides, and the values it is made of.

use crate::Version;
use serde_json::Value;
use std::fmt;

/// An HTTP method ARI uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// REST over the events WebSocket arrived in these releases.
pub const REST_OVER_WEBSOCKET_SINCE: &[Version] = &[
    Version::new(20, 14, 0),
    Version::new(21, 9, 0),
    Version::new(22, 4, 0),
];

/// Static facts about one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationInfo {
    /// Resource it belongs to, e.g. `channels`.
    pub resource: &'static str,
    /// Name in the ARI declarations, e.g. `originate`.
    pub name: &'static str,
    /// HTTP method.
    pub method: Method,
    /// Path template below `/ari`, e.g. `/channels/{channelId}/answer`.
    pub path: &'static str,
    /// First release of each release line that has it.
    pub since: &'static [Version],
    /// It is the events WebSocket upgrade rather than a REST call.
    pub upgrade: bool,
}

/// A request reduced to what goes on the wire, before the transport is chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedRequest {
    /// HTTP method.
    pub method: Method,
    /// Path below `/ari/`, percent-encoded, without a leading `/`.
    pub path: String,
    /// Query pairs, not yet encoded.
    pub query: Vec<(&'static str, String)>,
    /// JSON body, if any.
    pub body: Option<Value>,
}

/// A typed ARI REST operation. Implemented by every struct in [`crate::ops`].
pub trait Operation {
    /// The decoded answer.
    type Response: ResponseBody;
    /// Method, path template and availability.
    const INFO: &'static OperationInfo;
    /// The request's wire form.
    fn encode(&self) -> EncodedRequest;
    /// For operations that create an object whose id the client may choose
    /// (originate, create, play, record, snoop): fills in an id from `fresh`
    /// if none is set, and names the object.
    fn assign_object_id(&mut self, fresh: &mut dyn FnMut() -> String) -> Option<ObjectRef> {
        let _ = fresh;
        None
    }
}

/// Marker for generated ARI models: they decode from a JSON response body.
pub trait Model: crate::json::Decode + serde::Serialize + crate::Inspect {}

/// How a response body turns into an operation's typed response.
pub trait ResponseBody: Sized {
    /// Decodes a successful answer's body.
    fn decode(body: &[u8]) -> Result<Self, crate::json::JsonError>;
    /// The value as JSON, for JSON answers.
    fn to_json(&self) -> Option<Value> {
        None
    }
    /// Appends the parts of the answer the types do not name.
    fn unknown_fields(&self, out: &mut Vec<String>) {
        let _ = out;
    }
}

fn json_text(body: &[u8]) -> Result<&str, crate::json::JsonError> {
    std::str::from_utf8(body).map_err(|e| crate::json::JsonError {
        offset: e.valid_up_to(),
        reason: "the body is not UTF-8".into(),
    })
}

impl<T: Model> ResponseBody for T {
    fn decode(body: &[u8]) -> Result<Self, crate::json::JsonError> {
        crate::json::Reader::decode_all(json_text(body)?)
    }
    fn to_json(&self) -> Option<Value> {
        serde_json::to_value(self).ok()
    }
    fn unknown_fields(&self, out: &mut Vec<String>) {
        crate::Inspect::unknown_fields(self, "$", out);
    }
}

impl<T: Model> ResponseBody for Vec<T> {
    fn decode(body: &[u8]) -> Result<Self, crate::json::JsonError> {
        crate::json::Reader::decode_all(json_text(body)?)
    }
    fn to_json(&self) -> Option<Value> {
        serde_json::to_value(self).ok()
    }
    fn unknown_fields(&self, out: &mut Vec<String>) {
        crate::Inspect::unknown_fields(self, "$", out);
    }
}

impl ResponseBody for () {
    /// Operations answering 204 carry no body; any body is ignored.
    fn decode(_: &[u8]) -> Result<Self, crate::json::JsonError> {
        Ok(())
    }
}

/// The raw bytes of a binary answer (a stored recording's audio file).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Binary(pub Vec<u8>);

impl fmt::Debug for Binary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Binary({} bytes)", self.0.len())
    }
}

impl ResponseBody for Binary {
    fn decode(body: &[u8]) -> Result<Self, crate::json::JsonError> {
        Ok(Binary(body.to_vec()))
    }
}

/// The kinds of ARI objects that events refer to and subscriptions follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ObjectKind {
    /// A channel, by id.
    Channel,
    /// A bridge, by id.
    Bridge,
    /// A playback, by id.
    Playback,
    /// A live recording, by name.
    Recording,
    /// An endpoint, as `technology/resource`.
    Endpoint,
    /// A device state, by device name.
    DeviceState,
}

impl ObjectKind {
    /// The prefix ARI uses in event source URIs (`channel:ID`).
    pub fn source_prefix(self) -> &'static str {
        match self {
            ObjectKind::Channel => "channel",
            ObjectKind::Bridge => "bridge",
            ObjectKind::Playback => "playback",
            ObjectKind::Recording => "recording",
            ObjectKind::Endpoint => "endpoint",
            ObjectKind::DeviceState => "deviceState",
        }
    }
}

/// One ARI object: its kind and id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    /// What it is.
    pub kind: ObjectKind,
    /// Its id (name for recordings and device states, `tech/resource` for endpoints).
    pub id: String,
}

impl ObjectRef {
    /// An object of `kind` with `id`.
    pub fn new(kind: ObjectKind, id: impl Into<String>) -> ObjectRef {
        ObjectRef {
            kind,
            id: id.into(),
        }
    }
}

/// An endpoint's id as subscriptions use it: `technology/resource`.
pub fn endpoint_id(technology: &str, resource: &str) -> String {
    format!("{technology}/{resource}")
}

/// An event whose `type` this crate does not know: nothing of it is lost.
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownEvent {
    /// Its `type`.
    pub type_name: String,
    /// Every other field, as received.
    pub fields: serde_json::Map<String, Value>,
}

impl serde::Serialize for UnknownEvent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.fields.len() + 1))?;
        m.serialize_entry("type", &self.type_name)?;
        for (k, v) in &self.fields {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}
