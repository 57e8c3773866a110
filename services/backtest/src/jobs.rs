//! Sweep jobs and their results in KV: `backtest-jobs` (key: job id) and
//! `backtest-results` (key: `<job>.<index>`, written once with `create`).

use std::time::Duration;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use async_nats::jetstream::{self, kv};
use async_nats::HeaderMap;
use bus::api::backtest::{JobRecord, SweepResult, SweepTask};
use bus::{headers, subjects, BusError, ServiceError};
use futures::StreamExt;

#[derive(Clone)]
pub struct Jobs {
    jobs: kv::Store,
    results: kv::Store,
    js: jetstream::Context,
}

fn store_error(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::unavailable(format!("backtest store: {e}"))
}

impl Jobs {
    pub async fn open(js: &jetstream::Context, replicas: usize) -> Result<Self, BusError> {
        let bucket = |name: &str, description: &str| kv::Config {
            bucket: name.to_string(),
            description: description.to_string(),
            history: 1,
            num_replicas: replicas,
            max_age: Duration::from_secs(30 * 24 * 3600),
            storage: jetstream::stream::StorageType::File,
            ..Default::default()
        };
        let jobs = bus::jetstream::ensure_kv(
            js,
            bucket(subjects::buckets::BACKTEST_JOBS, "backtest sweep jobs"),
        )
        .await?;
        let results = bus::jetstream::ensure_kv(
            js,
            bucket(
                subjects::buckets::BACKTEST_RESULTS,
                "backtest sweep results",
            ),
        )
        .await?;
        Ok(Jobs {
            jobs,
            results,
            js: js.clone(),
        })
    }

    pub async fn get(&self, job_id: &str) -> Result<Option<(JobRecord, u64)>, ServiceError> {
        let entry = self.jobs.entry(job_id).await.map_err(store_error)?;
        Ok(entry.and_then(|e| {
            (e.operation == kv::Operation::Put)
                .then(|| {
                    serde_json::from_slice(&e.value)
                        .ok()
                        .map(|r| (r, e.revision))
                })
                .flatten()
        }))
    }

    pub async fn create(&self, record: &JobRecord) -> Result<(), ServiceError> {
        let value =
            serde_json::to_vec(record).map_err(|e| ServiceError::internal(e.to_string()))?;
        self.jobs
            .create(&record.job_id, value.into())
            .await
            .map_err(store_error)?;
        Ok(())
    }

    /// Compare-and-set; false when someone changed it meanwhile.
    pub async fn update(&self, record: &JobRecord, revision: u64) -> Result<bool, ServiceError> {
        let value =
            serde_json::to_vec(record).map_err(|e| ServiceError::internal(e.to_string()))?;
        Ok(self
            .jobs
            .update(&record.job_id, value.into(), revision)
            .await
            .is_ok())
    }

    fn result_key(job_id: &str, index: u32) -> String {
        format!("{job_id}.{index}")
    }

    pub async fn has_result(&self, job_id: &str, index: u32) -> bool {
        matches!(
            self.results.get(Self::result_key(job_id, index)).await,
            Ok(Some(_))
        )
    }

    /// Stores a result once; false when it was already there.
    pub async fn put_result(
        &self,
        job_id: &str,
        result: &SweepResult,
    ) -> Result<bool, ServiceError> {
        let value =
            serde_json::to_vec(result).map_err(|e| ServiceError::internal(e.to_string()))?;
        match self
            .results
            .create(Self::result_key(job_id, result.index), value.into())
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(store_error(e)),
        }
    }

    fn results_subject(job_id: &str) -> String {
        format!("$KV.{}.{job_id}.>", subjects::buckets::BACKTEST_RESULTS)
    }

    /// How many results a job has.
    pub async fn count(&self, job_id: &str) -> Result<u32, ServiceError> {
        let stream = self
            .js
            .get_stream(format!("KV_{}", subjects::buckets::BACKTEST_RESULTS))
            .await
            .map_err(store_error)?;
        let mut subjects = stream
            .info_with_subjects(Self::results_subject(job_id))
            .await
            .map_err(store_error)?;
        let mut n = 0;
        while let Some(Ok(_)) = subjects.next().await {
            n += 1;
        }
        Ok(n)
    }

    /// Every result of a job (reads the bucket's stream for that job only).
    pub async fn results(&self, job_id: &str) -> Result<Vec<SweepResult>, ServiceError> {
        let count = self.count(job_id).await?;
        if count == 0 {
            return Ok(Vec::new());
        }
        let stream = self
            .js
            .get_stream(format!("KV_{}", subjects::buckets::BACKTEST_RESULTS))
            .await
            .map_err(store_error)?;
        let consumer = stream
            .create_consumer(pull::OrderedConfig {
                filter_subject: Self::results_subject(job_id),
                deliver_policy: DeliverPolicy::LastPerSubject,
                ..Default::default()
            })
            .await
            .map_err(store_error)?;
        let mut messages = consumer.messages().await.map_err(store_error)?;
        let mut out = Vec::with_capacity(count as usize);
        while out.len() < count as usize {
            let next = tokio::time::timeout(Duration::from_secs(5), messages.next()).await;
            let Ok(Some(Ok(message))) = next else { break };
            if let Ok(result) = serde_json::from_slice::<SweepResult>(&message.payload) {
                out.push(result);
            }
            // Nothing more stored for this job right now: done, without waiting.
            if message.info().map(|i| i.pending == 0).unwrap_or(false) {
                break;
            }
        }
        out.sort_by_key(|r| r.index);
        Ok(out)
    }
}

/// Puts tasks `indices` of a job on JOBS (`Nats-Msg-Id` per task: queueing the
/// same task twice stores it once) and waits for the stream's acks.
pub async fn enqueue(
    js: &jetstream::Context,
    job_id: &str,
    indices: std::ops::Range<u32>,
    correlation_id: &str,
) -> Result<(), ServiceError> {
    let subject = subjects::backtest_task(job_id);
    let mut acks = Vec::with_capacity(indices.len());
    for index in indices {
        let task = SweepTask {
            job_id: job_id.to_string(),
            index,
        };
        let mut hdrs = HeaderMap::new();
        hdrs.insert(headers::MSG_ID, format!("task:{job_id}:{index}").as_str());
        hdrs.insert(headers::CORRELATION_ID, correlation_id);
        bus::trace::inject(&mut hdrs);
        let payload =
            serde_json::to_vec(&task).map_err(|e| ServiceError::internal(e.to_string()))?;
        let ack = js
            .publish_with_headers(subject.clone(), hdrs, payload.into())
            .await
            .map_err(|e| ServiceError::unavailable(format!("JOBS: {e}")))?;
        acks.push(ack);
    }
    for ack in acks {
        ack.await.map_err(|e| {
            ServiceError::unavailable(format!("JOBS did not acknowledge a task: {e}"))
        })?;
    }
    Ok(())
}
