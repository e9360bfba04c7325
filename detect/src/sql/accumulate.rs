//! Batch accumulation: the events of a pane (or a session) kept as Arrow record batches of the
//! columns the scenario's query reads, converted once when they arrive, never per evaluation.
//! For hopping windows a pane also keeps the partial aggregate states of its rows, computed
//! once and merged by every window the pane belongs to.

use arrow_array::RecordBatch;
use palisade_schemas::arrow::EventBatchBuilder;
use palisade_schemas::{Event, SchemaError};

/// Rows gathered before they are made into a batch.
const BATCH_ROWS: usize = 8192;

/// The events of one pane or session.
#[derive(Default)]
pub struct Pane {
    builder: Option<EventBatchBuilder>,
    batches: Vec<RecordBatch>,
    rows: usize,
    /// Partial aggregate states of `batches[..partial_upto]` (hopping windows only).
    pub(crate) partial: Vec<RecordBatch>,
    pub(crate) partial_upto: usize,
}

impl Pane {
    /// Appends one event at `time_ns`, building the columns `columns` of the event schema.
    pub fn push(&mut self, e: &Event, time_ns: i64, columns: &[usize]) -> Result<(), SchemaError> {
        let b = self
            .builder
            .get_or_insert_with(|| EventBatchBuilder::new(columns));
        b.append(e, time_ns)?;
        self.rows += 1;
        if b.len() >= BATCH_ROWS {
            self.batches.push(b.finish()?);
        }
        Ok(())
    }

    /// The events, as batches (pending rows are made into a batch first).
    pub fn batches(&mut self) -> Result<&[RecordBatch], SchemaError> {
        if let Some(b) = self.builder.as_mut() {
            if !b.is_empty() {
                self.batches.push(b.finish()?);
            }
        }
        Ok(&self.batches)
    }

    /// How many events.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Moves `other`'s events into this pane (sessions that an event bridges). Partial states
    /// are dropped; sessions do not use them.
    pub fn absorb(&mut self, mut other: Pane) -> Result<(), SchemaError> {
        self.batches()?;
        self.batches.extend(other.batches()?.iter().cloned());
        self.rows += other.rows;
        self.partial.clear();
        self.partial_upto = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_batches_of_the_asked_columns() {
        let mut p = Pane::default();
        let mut e = Event::default();
        e.meta.insert("source_ip".into(), "1.2.3.4".into());
        for i in 0..(BATCH_ROWS + 3) {
            p.push(&e, i as i64, &[0, 1]).unwrap();
        }
        assert_eq!(p.rows(), BATCH_ROWS + 3);
        let b = p.batches().unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].num_rows(), BATCH_ROWS);
        assert_eq!(b[1].num_rows(), 3);
        assert_eq!(b[1].num_columns(), 2);
        let mut q = Pane::default();
        q.push(&e, 1, &[0, 1]).unwrap();
        q.absorb(p).unwrap();
        assert_eq!(q.rows(), BATCH_ROWS + 4);
        assert_eq!(q.batches().unwrap().len(), 3);
    }
}
