//! What each command's reply means, typed: read from how `res/res_agi.c`
//! (and `app_stack.c` for `GOSUB`) writes each reply, which the XML only
//! describes in prose (and in places wrongly).

use crate::Text;
use crate::reply::{Reply, ReplyError};

/// Success or failure of a command that reports only that. Which result
/// number means which differs per command (see each command's docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// It worked.
    Success,
    /// It did not (or, for the commands that say so, there was nothing to do).
    Failure,
}

impl Outcome {
    /// Whether it is [`Outcome::Success`].
    pub fn is_success(self) -> bool {
        self == Outcome::Success
    }
}

/// How a command that listens for DTMF ended (`result=` holds the digit's
/// ASCII code, `0` or `-1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DigitResult {
    /// No digit: it played to the end (or, for `WAIT FOR DIGIT`, the wait
    /// timed out).
    NoDigit,
    /// The caller pressed this digit (one of the escape digits).
    Digit(char),
    /// The channel hung up, or the command failed (a sound file that does
    /// not exist gives this too).
    Failed,
}

/// How a playback ended (`STREAM FILE`, `GET OPTION`, `CONTROL STREAM
/// FILE`): `200 result=<digit, 0 or -1> endpos=<offset>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Playback {
    /// Digit, end, or failure.
    pub result: DigitResult,
    /// Where playback stopped: in samples (`STREAM FILE`, `GET OPTION`) or
    /// milliseconds (`CONTROL STREAM FILE`). `0` for a missing file.
    pub endpos: i64,
}

/// What `GET DATA` collected.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DataEntry {
    /// The digits (possibly none), in order; `#` ends the entry and is not
    /// among them.
    Digits {
        /// The digits pressed.
        digits: String,
        /// The entry ended on the timeout, not on `#` or the digit limit
        /// (`(timeout)` after the digits).
        timed_out: bool,
    },
    /// The channel hung up or reading failed (`result=-1`).
    Failed,
}

/// What `RECEIVE CHAR` got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReceivedChar {
    /// A character.
    Char(char),
    /// None within the timeout (`result=0 (timeout)`).
    Timeout,
    /// The channel hung up, or cannot receive text (`result=-1 (hangup)`,
    /// which PJSIP channels answer even while up).
    Failed,
}

/// A channel's state, as `CHANNEL STATUS` reports it (`ast_channel_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChannelState {
    /// `0`: down and available.
    Down,
    /// `1`: down, but reserved.
    Reserved,
    /// `2`: off hook.
    OffHook,
    /// `3`: digits have been dialed.
    Dialing,
    /// `4`: ringing (an incoming call not answered yet).
    Ring,
    /// `5`: the remote end is ringing.
    Ringing,
    /// `6`: up.
    Up,
    /// `7`: busy.
    Busy,
    /// `8`: dialing while off hook.
    DialingOffhook,
    /// `9`: before ringing.
    PreRing,
    /// A number Asterisk does not define.
    Other(i64),
}

impl ChannelState {
    /// The state for Asterisk's number.
    pub fn from_number(n: i64) -> ChannelState {
        use ChannelState::*;
        match n {
            0 => Down,
            1 => Reserved,
            2 => OffHook,
            3 => Dialing,
            4 => Ring,
            5 => Ringing,
            6 => Up,
            7 => Busy,
            8 => DialingOffhook,
            9 => PreRing,
            n => Other(n),
        }
    }
}

/// What `EXEC` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExecResult {
    /// The application ran and returned this (`0`: go on; `-1`: the
    /// dialplan would stop, usually a hangup).
    Returned(i64),
    /// No application of that name (`result=-2`).
    NotFound,
}

/// How `GOSUB` ended (after its `100 result=0 Trying...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GosubResult {
    /// The subroutine returned (`200 result=0 Gosub complete`).
    Complete,
    /// The subroutine ended without returning, e.g. it hung up or jumped
    /// away (`Gosub complete (abnormal exit)`); `GOSUB_RETVAL` is emptied.
    AbnormalExit,
    /// No such context, extension or priority
    /// (`200 result=-1 Gosub label not found`).
    LabelNotFound,
    /// Starting the subroutine failed (`Gosub failed`).
    Failed(i64),
}

/// Why `RECORD FILE` stopped.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RecordEnd {
    /// The time limit, or the allowed silence, was reached (`(timeout)`).
    Timeout,
    /// An escape digit was pressed (`(dtmf)`).
    Digit(char),
    /// The channel hung up (`(hangup)`).
    Hangup,
    /// Something else failed: `(writefile)` (the file could not be made),
    /// `(randomerror)` (the beep could not play), `(waitfor)`, or no reason
    /// at all (the channel's format could not be set).
    Error {
        /// The word in parentheses, empty if none.
        reason: Text,
        /// The result number.
        result: i64,
    },
}

/// What `RECORD FILE` reports.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Recording {
    /// Why it stopped.
    pub end: RecordEnd,
    /// Where the recording ends, in samples (absent after some errors).
    pub endpos: Option<i64>,
}

/// One hypothesis of `SPEECH RECOGNIZE`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SpeechResult {
    /// `score<N>`.
    pub score: i64,
    /// `text<N>`: what was recognized (Asterisk does not escape it).
    pub text: Text,
    /// `grammar<N>`: the grammar that matched.
    pub grammar: Text,
}

/// What `SPEECH RECOGNIZE` reports.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SpeechRecognition {
    /// Speech was recognized: `(speech) endpos= results= score0= text0=...`.
    Speech {
        /// Where the prompt stopped, in samples.
        endpos: i64,
        /// The hypotheses, best first.
        results: Vec<SpeechResult>,
    },
    /// A DTMF digit ended it (`(digit) digit=<d>`).
    Digit {
        /// The digit.
        digit: char,
        /// Where the prompt stopped.
        endpos: i64,
    },
    /// The channel hung up.
    Hangup {
        /// Where the prompt stopped.
        endpos: i64,
    },
    /// Nothing within the timeout.
    Timeout {
        /// Where the prompt stopped.
        endpos: i64,
    },
    /// No speech object (no `SPEECH CREATE`), the channel could not read
    /// linear audio, or the engine failed (`result=0`).
    Failed {
        /// Where the prompt stopped, when Asterisk says.
        endpos: Option<i64>,
    },
}

fn unexpected(reply: &Reply) -> ReplyError {
    ReplyError::Unexpected(reply.clone())
}

/// The result number of a `2xx` reply.
fn number(reply: &Reply) -> Result<i64, ReplyError> {
    reply.check_status()?;
    reply.result_int().ok_or_else(|| unexpected(reply))
}

fn code_char(n: i64) -> Option<char> {
    u8::try_from(n).ok().filter(|&b| b > 0).map(char::from)
}

/// Any `2xx` reply with a result: commands that always report the same.
pub fn ack(reply: &Reply) -> Result<(), ReplyError> {
    reply.check_status()?;
    reply.result().map(|_| ()).ok_or_else(|| unexpected(reply))
}

/// `0` (or more) success, negative failure.
pub fn outcome_zero(reply: &Reply) -> Result<Outcome, ReplyError> {
    Ok(if number(reply)? >= 0 {
        Outcome::Success
    } else {
        Outcome::Failure
    })
}

fn outcome_of(reply: &Reply, success: i64, failure: i64) -> Result<Outcome, ReplyError> {
    match number(reply)? {
        n if n == success => Ok(Outcome::Success),
        n if n == failure => Ok(Outcome::Failure),
        _ => Err(unexpected(reply)),
    }
}

/// `1` success, `0` failure.
pub fn outcome_one(reply: &Reply) -> Result<Outcome, ReplyError> {
    outcome_of(reply, 1, 0)
}

/// `1` success, `-1` failure (`HANGUP`: no such channel).
pub fn outcome_hangup(reply: &Reply) -> Result<Outcome, ReplyError> {
    outcome_of(reply, 1, -1)
}

/// `DATABASE DELTREE`, inverted: `0` when it deleted something, `1` when
/// there was nothing to delete (or the database failed).
pub fn outcome_deltree(reply: &Reply) -> Result<Outcome, ReplyError> {
    outcome_of(reply, 0, 1)
}

/// `result=1 (<value>)`, or `result=0` for none.
pub fn value(reply: &Reply) -> Result<Option<Text>, ReplyError> {
    match number(reply)? {
        1 => reply
            .data()
            .map(|d| Some(d.into()))
            .ok_or_else(|| unexpected(reply)),
        0 => Ok(None),
        _ => Err(unexpected(reply)),
    }
}

/// `RECEIVE TEXT`: `result=1 (<text>)`, or `result=-1`.
pub fn text_received(reply: &Reply) -> Result<Option<Text>, ReplyError> {
    match number(reply)? {
        1 => reply
            .data()
            .map(|d| Some(d.into()))
            .ok_or_else(|| unexpected(reply)),
        -1 => Ok(None),
        _ => Err(unexpected(reply)),
    }
}

/// A digit's code, `0` or `-1`.
pub fn digit(reply: &Reply) -> Result<DigitResult, ReplyError> {
    match number(reply)? {
        0 => Ok(DigitResult::NoDigit),
        n if n < 0 => Ok(DigitResult::Failed),
        n => code_char(n)
            .map(DigitResult::Digit)
            .ok_or_else(|| unexpected(reply)),
    }
}

/// A digit's code, `0` or `-1`, and `endpos=`.
pub fn playback(reply: &Reply) -> Result<Playback, ReplyError> {
    let result = digit(reply)?;
    let endpos = reply.endpos().ok_or_else(|| unexpected(reply))?;
    Ok(Playback { result, endpos })
}

/// `GET DATA`: `result=<digits>`, `result=<digits> (timeout)`, `result=-1`.
pub fn data_entry(reply: &Reply) -> Result<DataEntry, ReplyError> {
    reply.check_status()?;
    let result = reply.result().ok_or_else(|| unexpected(reply))?;
    if result == b"-1" {
        return Ok(DataEntry::Failed);
    }
    let dtmf = |c: &u8| c.is_ascii_digit() || matches!(c, b'*' | b'#' | b'A'..=b'D' | b'a'..=b'd');
    if !result.iter().all(dtmf) {
        return Err(unexpected(reply));
    }
    let timed_out = match reply.data() {
        Some(b"timeout") => true,
        None if reply.rest().is_empty() => false,
        _ => return Err(unexpected(reply)),
    };
    Ok(DataEntry::Digits {
        digits: result.iter().map(|&c| char::from(c)).collect(),
        timed_out,
    })
}

/// `RECEIVE CHAR`: a code, `0 (timeout)` or `-1 (hangup)`.
pub fn received_char(reply: &Reply) -> Result<ReceivedChar, ReplyError> {
    match number(reply)? {
        0 => Ok(ReceivedChar::Timeout),
        n if n < 0 => Ok(ReceivedChar::Failed),
        n => code_char(n)
            .map(ReceivedChar::Char)
            .ok_or_else(|| unexpected(reply)),
    }
}

/// `CHANNEL STATUS`: the state's number, or `-1` for no such channel.
pub fn channel_status(reply: &Reply) -> Result<Option<ChannelState>, ReplyError> {
    match number(reply)? {
        -1 => Ok(None),
        n if n >= 0 => Ok(Some(ChannelState::from_number(n))),
        _ => Err(unexpected(reply)),
    }
}

/// `EXEC`: the application's return value, or `-2` for none such.
pub fn exec(reply: &Reply) -> Result<ExecResult, ReplyError> {
    Ok(match number(reply)? {
        -2 => ExecResult::NotFound,
        n => ExecResult::Returned(n),
    })
}

/// `GOSUB`'s final line.
pub fn gosub(reply: &Reply) -> Result<GosubResult, ReplyError> {
    let n = number(reply)?;
    match (n, reply.rest()) {
        (0, b"Gosub complete") => Ok(GosubResult::Complete),
        (0, b"Gosub complete (abnormal exit)") => Ok(GosubResult::AbnormalExit),
        (-1, b"Gosub label not found") => Ok(GosubResult::LabelNotFound),
        (n, b"Gosub failed") => Ok(GosubResult::Failed(n)),
        _ => Err(unexpected(reply)),
    }
}

/// The word in parentheses right after the result, up to the first `)`,
/// and what follows it.
fn word_data(reply: &Reply) -> Option<(&[u8], &[u8])> {
    let rest = reply.rest().strip_prefix(b"(")?;
    let close = rest.iter().position(|&c| c == b')')?;
    let after = &rest[close + 1..];
    Some((&rest[..close], after.strip_prefix(b" ").unwrap_or(after)))
}

/// `RECORD FILE`: `result=<n> (<why>) endpos=<n>`.
pub fn recording(reply: &Reply) -> Result<Recording, ReplyError> {
    let n = number(reply)?;
    let (why, _) = word_data(reply).unwrap_or((b"", b""));
    let end = match why {
        b"timeout" => RecordEnd::Timeout,
        b"hangup" => RecordEnd::Hangup,
        b"dtmf" => RecordEnd::Digit(code_char(n).ok_or_else(|| unexpected(reply))?),
        reason => RecordEnd::Error {
            reason: reason.into(),
            result: n,
        },
    };
    Ok(Recording {
        end,
        endpos: reply.endpos(),
    })
}

fn int_of(bytes: Option<&[u8]>) -> Option<i64> {
    std::str::from_utf8(bytes?).ok()?.parse().ok()
}

/// `SPEECH RECOGNIZE`.
pub fn speech(reply: &Reply) -> Result<SpeechRecognition, ReplyError> {
    let n = number(reply)?;
    let bad = || unexpected(reply);
    if n == 0 {
        return Ok(SpeechRecognition::Failed {
            endpos: reply.endpos(),
        });
    }
    let (why, after) = word_data(reply).ok_or_else(bad)?;
    let pairs = crate::reply::pairs_of(after);
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| *key == k.as_bytes())
            .map(|(_, v)| *v)
    };
    let endpos = int_of(get("endpos")).ok_or_else(bad)?;
    match why {
        b"hangup" => Ok(SpeechRecognition::Hangup { endpos }),
        b"timeout" => Ok(SpeechRecognition::Timeout { endpos }),
        b"digit" => {
            let d = get("digit").filter(|d| d.len() == 1).ok_or_else(bad)?;
            Ok(SpeechRecognition::Digit {
                digit: char::from(d[0]),
                endpos,
            })
        }
        b"speech" => {
            let count = int_of(get("results")).ok_or_else(bad)?;
            let mut results = Vec::new();
            for i in 0..count.max(0) {
                let score = int_of(get(&format!("score{i}"))).ok_or_else(bad)?;
                let text = get(&format!("text{i}")).ok_or_else(bad)?;
                let text = text
                    .strip_prefix(b"\"")
                    .and_then(|t| t.strip_suffix(b"\""))
                    .unwrap_or(text);
                let grammar = get(&format!("grammar{i}")).ok_or_else(bad)?;
                results.push(SpeechResult {
                    score,
                    text: text.into(),
                    grammar: grammar.into(),
                });
            }
            Ok(SpeechRecognition::Speech { endpos, results })
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Reply {
        Reply::parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn each_reply_kind() {
        assert_eq!(ack(&r("200 result=1\n")), Ok(()));
        assert_eq!(outcome_zero(&r("200 result=-1\n")), Ok(Outcome::Failure));
        assert_eq!(outcome_deltree(&r("200 result=0\n")), Ok(Outcome::Success));
        assert!(outcome_one(&r("200 result=7\n")).is_err());
        assert_eq!(
            value(&r("200 result=1 (a (b) c)\n")),
            Ok(Some("a (b) c".into()))
        );
        assert_eq!(value(&r("200 result=1 ()\n")), Ok(Some("".into())));
        assert_eq!(value(&r("200 result=0\n")), Ok(None));
        assert_eq!(
            value(&r("511 Command Not Permitted\n")),
            Err(ReplyError::DeadChannel)
        );
        assert_eq!(digit(&r("200 result=53\n")), Ok(DigitResult::Digit('5')));
        assert_eq!(digit(&r("200 result=0\n")), Ok(DigitResult::NoDigit));
        assert!(digit(&r("200 result=4000\n")).is_err());
        assert_eq!(
            playback(&r("200 result=-1 endpos=0\n")),
            Ok(Playback {
                result: DigitResult::Failed,
                endpos: 0
            })
        );
        assert_eq!(
            data_entry(&r("200 result= (timeout)\n")),
            Ok(DataEntry::Digits {
                digits: String::new(),
                timed_out: true
            })
        );
        assert_eq!(
            data_entry(&r("200 result=1234\n")),
            Ok(DataEntry::Digits {
                digits: "1234".into(),
                timed_out: false
            })
        );
        assert_eq!(data_entry(&r("200 result=-1\n")), Ok(DataEntry::Failed));
        assert!(data_entry(&r("200 result=12 (x)\n")).is_err());
        assert_eq!(
            received_char(&r("200 result=-1 (hangup)\n")),
            Ok(ReceivedChar::Failed)
        );
        assert_eq!(
            received_char(&r("200 result=0 (timeout)\n")),
            Ok(ReceivedChar::Timeout)
        );
        assert_eq!(
            channel_status(&r("200 result=6\n")),
            Ok(Some(ChannelState::Up))
        );
        assert_eq!(channel_status(&r("200 result=-1\n")), Ok(None));
        assert_eq!(exec(&r("200 result=-2\n")), Ok(ExecResult::NotFound));
        assert_eq!(
            gosub(&r("200 result=0 Gosub complete\n")),
            Ok(GosubResult::Complete)
        );
        assert_eq!(
            gosub(&r("200 result=0 Gosub complete (abnormal exit)\n")),
            Ok(GosubResult::AbnormalExit)
        );
        assert_eq!(
            gosub(&r("200 result=-1 Gosub label not found\n")),
            Ok(GosubResult::LabelNotFound)
        );
        assert!(matches!(
            gosub(&r("503 result=-2 Memory allocation failure\n")),
            Err(ReplyError::Failure { code: 503, .. })
        ));
    }

    #[test]
    fn record_and_speech() {
        assert_eq!(
            recording(&r("200 result=35 (dtmf) endpos=8000\n")),
            Ok(Recording {
                end: RecordEnd::Digit('#'),
                endpos: Some(8000)
            })
        );
        assert_eq!(
            recording(&r("200 result=-1 (writefile)\n")).unwrap().end,
            RecordEnd::Error {
                reason: "writefile".into(),
                result: -1
            }
        );
        assert_eq!(
            recording(&r("200 result=0 (timeout) endpos=1\n"))
                .unwrap()
                .end,
            RecordEnd::Timeout
        );
        let s = speech(&r(
            "200 result=1 (speech) endpos=80 results=2 score0=900 text0=\"yes (sure)\" grammar0=yesno score1=10 text1=\"\" grammar1=g\n",
        ))
        .unwrap();
        let SpeechRecognition::Speech {
            endpos: 80,
            results,
        } = s
        else {
            panic!("{s:?}")
        };
        assert_eq!(results[0].text, "yes (sure)");
        assert_eq!(results[1].grammar, "g");
        assert_eq!(
            speech(&r("200 result=1 (digit) digit=5 endpos=3\n")),
            Ok(SpeechRecognition::Digit {
                digit: '5',
                endpos: 3
            })
        );
        assert_eq!(
            speech(&r("200 result=0\n")),
            Ok(SpeechRecognition::Failed { endpos: None })
        );
    }
}
