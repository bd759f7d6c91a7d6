//! Response bodies: a buffered one replayed with its trailers, and a live one bounded by a
//! deadline.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};
use tonic::Status;

/// The error type of the bodies here (what tonic and axum box anyway).
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A buffered gRPC response body: its bytes, then its trailers.
#[derive(Debug, Default)]
pub(crate) struct ReplayBody {
    data: Option<Bytes>,
    trailers: Option<HeaderMap>,
}

impl ReplayBody {
    pub(crate) fn new(data: Bytes, trailers: Option<HeaderMap>) -> Self {
        Self {
            data: (!data.is_empty()).then_some(data),
            trailers,
        }
    }
}

impl Body for ReplayBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some(data) = this.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        Poll::Ready(this.trailers.take().map(|t| Ok(Frame::trailers(t))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && self.trailers.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        let len = self.data.as_ref().map_or(0, |d| d.len() as u64);
        if self.trailers.is_none() {
            SizeHint::with_exact(len)
        } else {
            let mut h = SizeHint::new();
            h.set_lower(len);
            h
        }
    }
}

/// What a [`GuardedBody`] does when its deadline (after `budget`) passes before the body ends.
pub(crate) enum Expiry {
    /// Fail the body with DEADLINE_EXCEEDED (client side: tonic reports it as the call's
    /// status).
    Fail {
        /// The call's budget, for the message.
        budget: Duration,
    },
    /// End the body with DEADLINE_EXCEEDED trailers (server side: a clean end for the peer).
    Trailers {
        /// The call's budget, for the message.
        budget: Duration,
        /// Named in the status's ErrorInfo.
        correlation_id: String,
    },
}

/// The status of a call over its deadline.
pub(crate) fn deadline_status(budget: Duration, correlation_id: Option<&str>) -> Status {
    let mut problem = crate::Problem::new(504)
        .with_detail(format!("The call did not complete within {budget:?}"));
    if let Some(id) = correlation_id {
        problem = problem.with_extension("correlation_id", id);
    }
    Status::from(problem)
}

/// A response body bounded by a deadline; on the server it also names the correlation id in
/// an error status sent as trailers.
pub(crate) struct GuardedBody<B> {
    inner: B,
    sleep: Option<Pin<Box<Sleep>>>,
    expiry: Option<Expiry>,
    correlation_id: Option<String>,
    done: bool,
}

impl<B> GuardedBody<B> {
    pub(crate) fn new(inner: B, deadline: Option<Instant>, expiry: Expiry) -> Self {
        Self {
            inner,
            sleep: deadline.map(|d| Box::pin(tokio::time::sleep_until(d))),
            expiry: Some(expiry),
            correlation_id: None,
            done: false,
        }
    }

    /// Adds `id` to the ErrorInfo of an error status in the trailers.
    pub(crate) fn with_correlation_id(mut self, id: String) -> Self {
        self.correlation_id = Some(id);
        self
    }
}

impl<B> Body for GuardedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(match frame {
                Some(Ok(frame)) => Some(Ok(match (frame.into_trailers(), &this.correlation_id) {
                    (Ok(mut trailers), Some(id)) => {
                        super::status::add_correlation_id(&mut trailers, id);
                        Frame::trailers(trailers)
                    }
                    (Ok(trailers), None) => Frame::trailers(trailers),
                    (Err(frame), _) => frame,
                })),
                Some(Err(e)) => Some(Err(e.into())),
                None => None,
            });
        }
        if let Some(sleep) = this.sleep.as_mut()
            && sleep.as_mut().poll(cx).is_ready()
        {
            this.done = true;
            return Poll::Ready(match this.expiry.take() {
                Some(Expiry::Fail { budget }) => Some(Err(Box::new(deadline_status(budget, None)))),
                Some(Expiry::Trailers {
                    budget,
                    correlation_id,
                }) => {
                    let mut trailers = HeaderMap::new();
                    // Only a message with invalid bytes can fail, and ours has none.
                    let _ =
                        deadline_status(budget, Some(&correlation_id)).add_header(&mut trailers);
                    Some(Ok(Frame::trailers(trailers)))
                }
                None => None,
            });
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    #[tokio::test]
    async fn replays_data_then_trailers() {
        let mut t = HeaderMap::new();
        t.insert("grpc-status", http::HeaderValue::from_static("0"));
        let c = ReplayBody::new(Bytes::from_static(b"abc"), Some(t.clone()))
            .collect()
            .await
            .unwrap();
        assert_eq!(c.trailers(), Some(&t));
        assert_eq!(c.to_bytes(), "abc");
        assert!(ReplayBody::new(Bytes::new(), None).is_end_stream());
    }

    #[tokio::test]
    async fn a_stalled_body_expires() {
        let stalled = http_body_util::StreamBody::new(futures_util::stream::pending::<
            Result<Frame<Bytes>, Infallible>,
        >());
        let deadline = Instant::now() + std::time::Duration::from_millis(20);
        let body = GuardedBody::new(
            stalled,
            Some(deadline),
            Expiry::Fail {
                budget: std::time::Duration::from_millis(20),
            },
        );
        let err = body.collect().await.err().unwrap();
        let status = err.downcast_ref::<Status>().unwrap();
        assert_eq!(status.code(), tonic::Code::DeadlineExceeded);

        let stalled = http_body_util::StreamBody::new(futures_util::stream::pending::<
            Result<Frame<Bytes>, Infallible>,
        >());
        let deadline = Instant::now() + std::time::Duration::from_millis(20);
        let body = GuardedBody::new(
            stalled,
            Some(deadline),
            Expiry::Trailers {
                budget: std::time::Duration::from_millis(20),
                correlation_id: "c-7".into(),
            },
        );
        let c = body.collect().await.unwrap();
        let status = crate::grpc::status::status_from_headers(c.trailers().unwrap()).unwrap();
        assert_eq!(status.code(), tonic::Code::DeadlineExceeded);
        let problem = crate::grpc::problem_from_status(&status);
        assert_eq!(problem.correlation_id(), Some("c-7"));
    }
}
