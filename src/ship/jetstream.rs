//! The server side of shipping: connecting, making sure the JetStream stream exists,
//! asking where a source stands, and publishing one record with the guards that make a
//! second copy impossible.

use std::time::Duration;

use async_nats::jetstream::context::{GetStreamErrorKind, PublishErrorKind};
use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::{self, message::PublishMessage, stream};
use async_nats::{HeaderMap, HeaderName, HeaderValue};

use super::{ShipError, ShipErrorKind, ShipOptions};
use crate::identity::StreamIdentity;
use crate::Level;

/// Header with the source's stream id.
pub const HEADER_STREAM_ID: &str = "Trail-Stream-Id";
/// Header with the record's `seq`.
pub const HEADER_SEQ: &str = "Trail-Seq";
/// Header with the record's level, lower-case.
pub const HEADER_LEVEL: &str = "Trail-Level";
/// Header with the service that wrote the record.
pub const HEADER_SERVICE: &str = "Trail-Service";
/// Header with the host the record was written on.
pub const HEADER_HOST: &str = "Trail-Host";

/// The last record of one source on the server: its JetStream sequence and its `seq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) stream_sequence: u64,
    pub(crate) seq: u64,
}

/// What the server answered to a message sent with a reply subject.
pub(crate) enum Published {
    /// The message's id is held at this sequence of the JetStream stream: the message was
    /// stored there now, or (`duplicate`) a copy of it was stored there before.
    Stored { sequence: u64, duplicate: bool },
    /// Not stored, or not known to be: ask the server where the source stands.
    Unsure(String),
}

/// How the JetStream streams are laid out for this source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// A JetStream stream of this source alone (`NAME_<stream id>`): the server's
    /// sequence of each next message is known in advance, so many messages can be in
    /// flight, each guarded.
    PerSource,
    /// An existing JetStream stream `NAME` that takes the subjects of every source: the
    /// next message's sequence depends on the other sources, so one message at a time.
    Shared,
}

pub(crate) struct Server {
    context: jetstream::Context,
    /// The connection under the context, for messages sent without a reply subject.
    client: async_nats::Client,
    /// `subject` as the client takes it, shared by every message instead of copied.
    to: async_nats::Subject,
    /// The JetStream stream this source's messages are stored in.
    stream: stream::Stream,
    pub(crate) layout: Layout,
    pub(crate) subject: String,
}

/// A message sent and not yet answered.
pub(crate) type Pending = async_nats::jetstream::context::PublishAckFuture;

/// Why a message was not sent.
pub(crate) enum NotSent {
    /// Not sent, or not known to be: ask the server where the source stands.
    Unsure(String),
    /// Never to be stored: the message is larger than the server accepts.
    TooLarge(String),
}

/// How long a message may wait to be sent, and then for its answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);

pub(crate) async fn connect(options: &ShipOptions) -> Result<async_nats::Client, ShipError> {
    let mut connect = async_nats::ConnectOptions::new()
        .name("trail ship")
        .connection_timeout(Duration::from_secs(5))
        // Reconnect soon after a server restart, and keep trying: the files are the buffer.
        .reconnect_delay_callback(|attempts| Duration::from_millis(100 * attempts.min(20) as u64));
    if let Some(path) = &options.credentials {
        connect = connect.credentials_file(path).await.map_err(|e| {
            ShipError::new(
                ShipErrorKind::Config,
                format!("cannot read credentials {}: {e}", path.display()),
            )
        })?;
    }
    if let Some((user, password)) = &options.user_password {
        connect = connect.user_and_password(user.clone(), password.clone());
    }
    if let Some(token) = &options.token {
        connect = connect.token(token.clone());
    }
    if let Some(ca) = &options.tls_ca {
        connect = connect.add_root_certificates(ca.clone()).require_tls(true);
    }
    // Several servers, comma-separated as NATS clients take them: the client connects to
    // one and moves to another when it goes away.
    let mut servers = Vec::new();
    for url in options
        .url
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
    {
        let server = url.parse::<async_nats::ServerAddr>().map_err(|e| {
            ShipError::new(
                ShipErrorKind::Config,
                format!("{url} is not a NATS server address: {e}"),
            )
        })?;
        servers.push(server);
    }
    if servers.is_empty() {
        return Err(ShipError::new(
            ShipErrorKind::Config,
            format!("no NATS server in {:?}", options.url),
        ));
    }
    connect.connect(servers).await.map_err(|e| {
        use async_nats::ConnectErrorKind as K;
        let kind = match e.kind() {
            K::Authentication | K::AuthorizationViolation => ShipErrorKind::Auth,
            K::ServerParse => ShipErrorKind::Config,
            _ => ShipErrorKind::Unreachable,
        };
        ShipError::new(kind, format!("cannot connect to {}: {e}", options.url))
    })
}

impl Server {
    /// Finds the JetStream stream, creating it when missing. An existing stream `NAME`
    /// with subjects must take `subject` (the shared layout); otherwise this source gets
    /// its own stream `NAME_<stream id>`. Either must keep its messages on file.
    pub(crate) async fn open(
        client: async_nats::Client,
        options: &ShipOptions,
        stream_id: &str,
    ) -> Result<Server, ShipError> {
        let context = jetstream::ContextBuilder::new()
            .timeout(ANSWER_TIMEOUT)
            .build(client.clone());
        let subject = format!("{}.{stream_id}", options.subject);
        let to = async_nats::Subject::from(subject.as_str());
        let name = &options.jetstream_stream;
        let existing = match context.get_stream(name).await {
            Ok(mut stream) => {
                let config = stream
                    .info()
                    .await
                    .map_err(|e| cannot_read(name, e))?
                    .config
                    .clone();
                Some((stream, config))
            }
            Err(e) if matches!(e.kind(), GetStreamErrorKind::JetStream(ref j) if j.error_code() == ErrorCode::STREAM_NOT_FOUND) => {
                None
            }
            Err(e) => {
                return Err(ShipError::new(
                    ShipErrorKind::Server,
                    format!("cannot find the JetStream stream {name}: {e}"),
                ))
            }
        };
        if let Some((stream, config)) = &existing
            && !config.subjects.is_empty()
        {
            check(name, config, &subject)?;
            return Ok(Server {
                context,
                client,
                to,
                stream: stream.clone(),
                layout: Layout::Shared,
                subject,
            });
        }
        let own_name = format!("{name}_{stream_id}");
        let own_config = stream::Config {
            name: own_name.clone(),
            subjects: vec![subject.clone()],
            storage: stream::StorageType::File,
            duplicate_window: options.duplicate_window,
            num_replicas: options.replicas,
            ..Default::default()
        };
        let mut own = context
            .get_or_create_stream(own_config)
            .await
            .map_err(|e| {
                ShipError::new(
                    ShipErrorKind::Server,
                    format!("cannot find or create the JetStream stream {own_name}: {e}"),
                )
            })?;
        let info = own.info().await.map_err(|e| cannot_read(&own_name, e))?;
        check(&own_name, &info.config, &subject)?;
        Ok(Server {
            context,
            client,
            to,
            stream: own,
            layout: Layout::PerSource,
            subject,
        })
    }

    /// The number of messages the JetStream stream holds, for all sources.
    pub(crate) async fn messages(&mut self) -> Result<u64, String> {
        self.stream
            .info()
            .await
            .map(|i| i.state.messages)
            .map_err(|e| e.to_string())
    }

    /// The sequence of the last message of this source's own stream (per-source layout).
    pub(crate) async fn last_sequence(&self) -> Result<u64, String> {
        let mut stream = self.stream.clone();
        stream
            .info()
            .await
            .map(|i| i.state.last_sequence)
            .map_err(|e| format!("cannot ask where {} stands: {e}", self.subject))
    }

    /// Where this source stands on the server: its last message, if any.
    pub(crate) async fn last(&self) -> Result<Option<Position>, String> {
        use jetstream::stream::LastRawMessageErrorKind as K;
        match self
            .stream
            .get_last_raw_message_by_subject(&self.subject)
            .await
        {
            Ok(message) => {
                let seq = message
                    .headers
                    .get(HEADER_SEQ)
                    .and_then(|v| v.as_str().parse::<u64>().ok())
                    .ok_or_else(|| {
                        format!(
                            "message {} on {} has no {HEADER_SEQ} header: it was not shipped by trail",
                            message.sequence, self.subject
                        )
                    })?;
                Ok(Some(Position {
                    stream_sequence: message.sequence,
                    seq,
                }))
            }
            Err(e) if matches!(e.kind(), K::NoMessageFound) => Ok(None),
            Err(e) => Err(format!("cannot ask where {} stands: {e}", self.subject)),
        }
    }

    /// Sends one record (its headers made by [`Headers`]), to be stored only if this
    /// source's last message on the server is at the sequence `after` (0: none; in the
    /// per-source layout, the stream's last message), so that a copy arriving late, out
    /// of order, or from a second shipper is refused; the message id guards once more
    /// within the duplicate window.
    ///
    /// With `reply`, the server answers (through [`answer`]). Without it (per-source
    /// layout only), the message goes out as a plain NATS publish on the stream's subject:
    /// the server stores it or refuses it just the same, silently. Such a message is
    /// known to be stored once a later one, guarded by the sequence this one takes, is
    /// answered "stored": each message of the chain is stored only after its predecessor.
    pub(crate) async fn send(
        &self,
        after: u64,
        mut headers: HeaderMap,
        body: bytes::Bytes,
        reply: bool,
    ) -> Result<Option<Pending>, NotSent> {
        if !reply && self.layout == Layout::PerSource {
            headers.insert(
                async_nats::header::NATS_EXPECTED_LAST_SEQUENCE,
                HeaderValue::from(after),
            );
            // The client queues the message behind those sent before on the same
            // connection, so the server meets them in the order sent. The wait for room
            // in the client's queue is bounded as a JetStream publish's is, so that a
            // server away does not hold the shipper past a stop.
            let sent = self
                .client
                .publish_with_headers(self.to.clone(), headers, body);
            return match tokio::time::timeout(ANSWER_TIMEOUT, sent).await {
                Ok(Ok(())) => Ok(None),
                Ok(Err(e))
                    if e.kind() == async_nats::client::PublishErrorKind::MaxPayloadExceeded =>
                {
                    Err(NotSent::TooLarge(e.to_string()))
                }
                Ok(Err(e)) => Err(NotSent::Unsure(e.to_string())),
                Err(_) => Err(NotSent::Unsure("timed out waiting to send".to_owned())),
            };
        }
        let publish = PublishMessage::build().payload(body).headers(headers);
        // In a stream of its own, the source's last message is the stream's last: the
        // stream-wide guard is the one a cluster checks against the messages still being
        // replicated, so many can be in flight.
        let publish = match self.layout {
            Layout::PerSource => publish.expected_last_sequence(after),
            Layout::Shared => publish.expected_last_subject_sequence(after),
        };
        match self.context.send_publish(self.to.clone(), publish).await {
            Ok(pending) => Ok(Some(pending)),
            Err(e) if e.kind() == PublishErrorKind::MaxPayloadExceeded => {
                Err(NotSent::TooLarge(e.to_string()))
            }
            Err(e) => Err(NotSent::Unsure(e.to_string())),
        }
    }
}

/// The headers of a source's records: where each comes from, and its message id
/// `<stream id>-<seq>`. A map per level holds the headers that do not change from one
/// record to the next, with room for the rest, so that a record's headers are one copy of
/// it and three more values (the message id, `seq` and the guard), with no rehashing.
pub(crate) struct Headers {
    by_level: [HeaderMap; Level::ALL.len()],
    /// `<stream id>-`, the message id's beginning.
    id_prefix: String,
}

impl Headers {
    pub(crate) fn new(identity: &StreamIdentity) -> Headers {
        let by_level = Level::ALL.map(|level| {
            let mut common = HeaderMap::new();
            common.insert(
                HeaderName::from_static(HEADER_STREAM_ID),
                identity.stream_id.as_str(),
            );
            common.insert(
                HeaderName::from_static(HEADER_SERVICE),
                identity.service.as_str(),
            );
            common.insert(HeaderName::from_static(HEADER_HOST), identity.host.as_str());
            common.insert(HeaderName::from_static(HEADER_LEVEL), level.as_str());
            common
        });
        Headers {
            by_level,
            id_prefix: format!("{}-", identity.stream_id),
        }
    }

    /// The headers of the record `seq`, but the guard, which [`Server::send`] adds.
    pub(crate) fn of(&self, seq: u64, level: Level) -> HeaderMap {
        let mut headers = self.by_level[level as usize - 1].clone();
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(seq);
        let mut id = String::with_capacity(self.id_prefix.len() + digits.len());
        id.push_str(&self.id_prefix);
        id.push_str(digits);
        headers.insert(async_nats::header::NATS_MESSAGE_ID, id);
        headers.insert(HeaderName::from_static(HEADER_SEQ), digits);
        headers
    }
}

/// What became of a message sent with a reply subject.
pub(crate) async fn answer(pending: Pending) -> Published {
    match pending.await {
        Ok(ack) => Published::Stored {
            sequence: ack.sequence,
            duplicate: ack.duplicate,
        },
        Err(e) => Published::Unsure(e.to_string()),
    }
}

fn cannot_read(name: &str, e: impl std::fmt::Display) -> ShipError {
    ShipError::new(
        ShipErrorKind::Server,
        format!("cannot read the configuration of JetStream stream {name}: {e}"),
    )
}

/// An existing stream must take `subject` and keep its messages on file.
fn check(name: &str, config: &stream::Config, subject: &str) -> Result<(), ShipError> {
    let subjects = &config.subjects;
    if !subjects.iter().any(|s| subject_matches(s, subject)) {
        return Err(ShipError::new(
            ShipErrorKind::Config,
            format!(
                "JetStream stream {name} takes the subjects {subjects:?}, not {subject}: \
                 choose another --subject or --jetstream-stream"
            ),
        ));
    }
    if config.storage != stream::StorageType::File {
        return Err(ShipError::new(
            ShipErrorKind::Config,
            format!("JetStream stream {name} keeps its messages in memory, not on file: a server restart would lose them"),
        ));
    }
    Ok(())
}

/// Whether a NATS subject pattern (with `*` and `>`) takes `subject`.
fn subject_matches(pattern: &str, subject: &str) -> bool {
    let mut tokens = subject.split('.');
    for p in pattern.split('.') {
        match (p, tokens.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (p, Some(t)) if p == t => {}
            _ => return false,
        }
    }
    tokens.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::subject_matches;

    #[test]
    fn subject_patterns_match_as_nats_matches_them() {
        assert!(subject_matches("trail.>", "trail.abc"));
        assert!(subject_matches("trail.*", "trail.abc"));
        assert!(subject_matches(">", "trail.abc"));
        assert!(!subject_matches("trail.*", "trail.abc.d"));
        assert!(!subject_matches("other.>", "trail.abc"));
        assert!(!subject_matches("trail", "trail.abc"));
        assert!(subject_matches("trail.abc", "trail.abc"));
    }
}
