//! Planning and running a scenario's query with DataFusion.
//!
//! * The query is planned once, at load, against an empty table `events` whose schema is the
//!   Arrow event schema plus `window_start` and `window_end`. SQL syntax and planning errors
//!   come back with their line and column in the query ([`PlanError`]).
//! * The optimised physical plan tells which columns the query reads (the scans' projection):
//!   only those are built from events ([`SqlPlan::event_columns`]).
//! * A window is evaluated by putting its batches in place of the scans (which rebuilds every
//!   operator, so no state survives between windows) and running the plan with one partition,
//!   on a scoped thread with its own current-thread Tokio runtime (safe to call from inside the
//!   pipeline's runtime).
//! * Hopping windows, when the plan is one grouped aggregation (partial aggregate under a final
//!   one, nothing else reading `events`, no `window_*` column before the aggregation): each pane
//!   is pre-aggregated once into partial states, and a window only merges the states of its
//!   panes (`Final` aggregate, `HAVING`, projection, sort). Other plans run over the
//!   concatenated batches of the window's panes.
//! * The statistics-based rewrite of `count(*)` is off: the planning table is empty, and its
//!   statistics would fold the count into the constant 0.

use super::accumulate::Pane;
use super::window::Window;
use arrow_array::{ArrayRef, RecordBatch, TimestampNanosecondArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::MemTable;
use datafusion::common::config::Dialect;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::DataFusionError;
use datafusion::execution::context::{SQLOptions, SessionContext};
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::{collect, ExecutionPlan};
use datafusion::prelude::SessionConfig;
use std::sync::{Arc, OnceLock};

/// The `events` table: the event schema, then `window_start` and `window_end`.
pub fn table_schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| {
        let ts = DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()));
        let mut fields: Vec<Field> = palisade_schemas::arrow::event_schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields.push(Field::new("window_start", ts.clone(), false));
        fields.push(Field::new("window_end", ts, false));
        Arc::new(Schema::new(fields))
    })
    .clone()
}

fn event_column_count() -> usize {
    palisade_schemas::arrow::event_schema().fields().len()
}

fn schema_err(e: palisade_schemas::SchemaError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// A query that does not plan, with where in the query (1-based line and column) when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// What is wrong.
    pub message: String,
    /// Line and column in the query text.
    pub at: Option<(u32, u32)>,
}

impl PlanError {
    fn new(message: impl Into<String>) -> Self {
        PlanError {
            message: message.into(),
            at: None,
        }
    }

    fn from_df(e: &DataFusionError) -> Self {
        let at = e
            .diagnostic()
            .and_then(|d| d.span)
            .filter(|s| s.start.line > 0)
            .map(|s| (s.start.line as u32, s.start.column as u32))
            .or_else(|| position_in_message(&e.to_string()));
        let mut message = e.find_root().strip_backtrace();
        // sqlparser's errors come wrapped: `SQL error: ParserError("...")`.
        if let Some(inner) = message
            .split_once("ParserError(\"")
            .and_then(|(_, r)| r.rsplit_once("\")"))
        {
            message = format!("syntax error: {}", inner.0);
        }
        if let Some(d) = e.diagnostic() {
            if !message.contains(&d.message) {
                message = format!("{}: {message}", d.message);
            }
        }
        PlanError { message, at }
    }
}

/// `... at Line: 3, Column: 14` (sqlparser's errors).
fn position_in_message(m: &str) -> Option<(u32, u32)> {
    let rest = &m[m.rfind("Line: ")? + 6..];
    let (line, rest) = rest.split_once(", Column: ")?;
    let col: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, col.parse().ok()?))
}

/// A query planned for a scenario.
pub struct SqlPlan {
    state: SessionState,
    plan: Arc<dyn ExecutionPlan>,
    /// Table columns read, ascending.
    needed: Vec<usize>,
    event_columns: Vec<usize>,
    stored_schema: SchemaRef,
    incremental: bool,
    /// See [`SqlPlan::group_columns`].
    group_columns: Option<Vec<String>>,
}

impl std::fmt::Debug for SqlPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlPlan")
            .field("needed", &self.needed)
            .field("incremental", &self.incremental)
            .finish_non_exhaustive()
    }
}

fn is_events_scan(plan: &Arc<dyn ExecutionPlan>) -> Option<Option<Vec<usize>>> {
    let ds = plan.downcast_ref::<DataSourceExec>()?;
    let mem = ds.data_source().downcast_ref::<MemorySourceConfig>()?;
    (mem.original_schema() == table_schema()).then(|| mem.projection().clone())
}

fn is_partial(plan: &Arc<dyn ExecutionPlan>) -> bool {
    plan.downcast_ref::<AggregateExec>()
        .is_some_and(|a| *a.mode() == AggregateMode::Partial)
}

fn collect_nodes(plan: &Arc<dyn ExecutionPlan>, out: &mut Vec<Arc<dyn ExecutionPlan>>) {
    out.push(plan.clone());
    for c in plan.children() {
        collect_nodes(c, out);
    }
}

/// See [`SqlPlan::group_columns`].
fn group_columns(plan: &LogicalPlan) -> Option<Vec<String>> {
    let mut groups: Vec<Vec<Expr>> = Vec::new();
    let mut scans = 0;
    let mut simple = true;
    plan.apply_with_subqueries(|node| {
        match node {
            LogicalPlan::Projection(_) | LogicalPlan::Filter(_) | LogicalPlan::SubqueryAlias(_) => {
            }
            LogicalPlan::Sort(sort) if sort.fetch.is_none() => {}
            LogicalPlan::Aggregate(a) => groups.push(a.group_expr.clone()),
            LogicalPlan::TableScan(_) => scans += 1,
            _ => simple = false,
        }
        Ok(TreeNodeRecursion::Continue)
    })
    .ok()?;
    let [group] = groups.as_slice() else {
        return None;
    };
    (simple && scans == 1).then(|| {
        group
            .iter()
            .filter_map(|e| match e {
                Expr::Column(c) => Some(c.name.clone()),
                _ => None,
            })
            .collect()
    })
}

impl SqlPlan {
    /// Plans `sql` over `events`. `hopping`: prepare the per-pane partial aggregation.
    pub fn new(sql: &str, hopping: bool) -> Result<SqlPlan, PlanError> {
        let mut config = SessionConfig::new()
            .with_target_partitions(1)
            .with_batch_size(8192);
        config.options_mut().sql_parser.collect_spans = true;
        let base = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .build();
        let rules = base
            .physical_optimizers()
            .iter()
            .filter(|r| {
                r.name() != "aggregate_statistics"
                    && !(hopping && r.name() == "CombinePartialFinalAggregate")
            })
            .cloned()
            .collect();
        let state = SessionStateBuilder::new_from_existing(base)
            .with_physical_optimizer_rules(rules)
            .build();
        let ctx = SessionContext::new_with_state(state);
        let table = MemTable::try_new(table_schema(), vec![vec![]])
            .map_err(|e| PlanError::new(e.to_string()))?;
        ctx.register_table("events", Arc::new(table))
            .map_err(|e| PlanError::new(e.to_string()))?;
        let state = ctx.state();
        let statement = state
            .sql_to_statement(sql, &Dialect::Generic)
            .map_err(|e| PlanError::from_df(&e))?;
        let logical = futures::executor::block_on(state.statement_to_plan(statement))
            .map_err(|e| PlanError::from_df(&e))?;
        SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false)
            .verify_plan(&logical)
            .map_err(|_| PlanError::new("only a query (SELECT ...) is allowed"))?;
        let group_columns = group_columns(&logical);
        let plan = futures::executor::block_on(state.create_physical_plan(&logical))
            .map_err(|e| PlanError::from_df(&e))?;
        let mut nodes = Vec::new();
        collect_nodes(&plan, &mut nodes);
        let all: Vec<usize> = (0..table_schema().fields().len()).collect();
        let mut needed: Vec<usize> = nodes
            .iter()
            .filter_map(is_events_scan)
            .flat_map(|p| p.unwrap_or_else(|| all.clone()))
            .collect();
        needed.sort_unstable();
        needed.dedup();
        let n_event = event_column_count();
        let event_columns: Vec<usize> = needed.iter().copied().filter(|&i| i < n_event).collect();
        let stored_schema = Arc::new(
            table_schema()
                .project(&needed)
                .map_err(|e| PlanError::new(e.to_string()))?,
        );
        let incremental = hopping && Self::can_merge_panes(&nodes, &needed, n_event);
        Ok(SqlPlan {
            state,
            plan,
            needed,
            event_columns,
            stored_schema,
            incremental,
            group_columns,
        })
    }

    /// The plain columns the query groups by, when the query is one grouped aggregation whose
    /// every result row comes from one group: only projections, filters (`WHERE`, `HAVING`),
    /// sorts without a limit and aliases around one aggregate over one scan of `events`; no
    /// limit, join, union, window function or subquery. Such a query may run over several
    /// sessions with different keys at once, when it groups by the key column: each group is
    /// then one session.
    pub fn group_columns(&self) -> Option<&[String]> {
        self.group_columns.as_deref()
    }

    /// One partial aggregate, every scan of `events` under it, no window column read.
    fn can_merge_panes(nodes: &[Arc<dyn ExecutionPlan>], needed: &[usize], n_event: usize) -> bool {
        let partials: Vec<&Arc<dyn ExecutionPlan>> =
            nodes.iter().filter(|n| is_partial(n)).collect();
        let [partial] = partials.as_slice() else {
            return false;
        };
        let scans_total = nodes.iter().filter(|n| is_events_scan(n).is_some()).count();
        let mut under = Vec::new();
        collect_nodes(partial, &mut under);
        let scans_under = under.iter().filter(|n| is_events_scan(n).is_some()).count();
        let leaves_under = under.iter().filter(|n| n.children().is_empty()).count();
        scans_total == scans_under
            && leaves_under == scans_under
            && needed.iter().all(|&i| i < n_event)
    }

    /// The output schema of the query.
    pub fn schema(&self) -> SchemaRef {
        self.plan.schema()
    }

    /// The event schema columns the query reads (what panes build).
    pub fn event_columns(&self) -> &[usize] {
        &self.event_columns
    }

    /// Whether hopping windows merge per-pane partial aggregates.
    pub fn is_incremental(&self) -> bool {
        self.incremental
    }

    /// `plan` with every scan of `events` reading `batches` (of the stored schema).
    fn with_events(
        &self,
        plan: &Arc<dyn ExecutionPlan>,
        batches: Vec<RecordBatch>,
    ) -> Result<Arc<dyn ExecutionPlan>, DataFusionError> {
        let partitions = [batches];
        plan.clone()
            .transform_up(|node| {
                let Some(projection) = is_events_scan(&node) else {
                    return Ok(Transformed::no(node));
                };
                let projection: Vec<usize> = match projection {
                    Some(p) => p
                        .iter()
                        .map(|i| self.needed.binary_search(i).unwrap_or_default())
                        .collect(),
                    None => (0..self.needed.len()).collect(),
                };
                let scan = MemorySourceConfig::try_new_exec(
                    &partitions,
                    self.stored_schema.clone(),
                    Some(projection),
                )?;
                Ok(Transformed::yes(scan as Arc<dyn ExecutionPlan>))
            })
            .map(|t| t.data)
    }

    /// Runs `plan` to completion on a scoped thread driving a current-thread Tokio runtime: some
    /// operators spawn Tokio tasks, which a caller blocked inside a multi-thread runtime's worker
    /// would never let run (the task sits in that worker's local slot: a deadlock).
    fn run(&self, plan: Arc<dyn ExecutionPlan>) -> Result<Vec<RecordBatch>, DataFusionError> {
        let ctx = self.state.task_ctx();
        std::thread::scope(|s| {
            s.spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .map_err(|e| DataFusionError::External(Box::new(e)))?;
                rt.block_on(collect(plan, ctx))
            })
            .join()
            .unwrap_or_else(|_| {
                Err(DataFusionError::Internal(
                    "query evaluation panicked".into(),
                ))
            })
        })
    }

    /// Pane batches with the window columns the query reads added.
    fn stored(&self, window: Window, batch: &RecordBatch) -> Result<RecordBatch, DataFusionError> {
        let n_event = event_column_count();
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        for &i in &self.needed {
            if i >= n_event {
                let v = if i == n_event {
                    window.start
                } else {
                    window.end
                };
                columns.push(Arc::new(
                    TimestampNanosecondArray::from_value(v, batch.num_rows()).with_timezone("UTC"),
                ));
            }
        }
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        Ok(RecordBatch::try_new_with_options(
            self.stored_schema.clone(),
            columns,
            &options,
        )?)
    }

    /// Runs the query over the events of `panes`, the window being `window`.
    pub fn evaluate(
        &self,
        window: Window,
        panes: &mut [&mut Pane],
    ) -> Result<Vec<RecordBatch>, DataFusionError> {
        if self.incremental {
            return self.evaluate_merging(panes);
        }
        let mut batches = Vec::new();
        for p in panes.iter_mut() {
            for b in p.batches().map_err(schema_err)? {
                batches.push(self.stored(window, b)?);
            }
        }
        let plan = self.with_events(&self.plan, batches)?;
        self.run(plan)
    }

    /// Runs the query once over several windows, each row carrying its own window's
    /// `window_start`/`window_end` (sessions of different keys, see [`SqlPlan::group_columns`]).
    pub fn evaluate_many(
        &self,
        windows: &mut [(Window, &mut Pane)],
    ) -> Result<Vec<RecordBatch>, DataFusionError> {
        let mut batches = Vec::new();
        for (w, p) in windows.iter_mut() {
            for b in p.batches().map_err(schema_err)? {
                batches.push(self.stored(*w, b)?);
            }
        }
        let plan = self.with_events(&self.plan, batches)?;
        self.run(plan)
    }

    /// Hopping windows: pre-aggregate what each pane got since last time, then merge the states.
    fn evaluate_merging(
        &self,
        panes: &mut [&mut Pane],
    ) -> Result<Vec<RecordBatch>, DataFusionError> {
        let mut partial_plan = None;
        self.plan.apply(|node| {
            if is_partial(node) {
                partial_plan = Some(node.clone());
                return Ok(TreeNodeRecursion::Stop);
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        let partial_plan =
            partial_plan.ok_or_else(|| DataFusionError::Internal("no partial aggregate".into()))?;
        let states_schema = partial_plan.schema();
        let mut states = Vec::new();
        for p in panes.iter_mut() {
            let upto = p.partial_upto;
            let new: Vec<RecordBatch> = p.batches().map_err(schema_err)?[upto..].to_vec();
            if !new.is_empty() {
                let n = p.batches().map_err(schema_err)?.len();
                let plan = self.with_events(&partial_plan, new)?;
                let out = self.run(plan)?;
                p.partial.extend(out);
                p.partial_upto = n;
            }
            states.extend(p.partial.iter().cloned());
        }
        let partitions = [states];
        let plan = self
            .plan
            .clone()
            .transform_down(|node| {
                if is_partial(&node) {
                    let scan =
                        MemorySourceConfig::try_new_exec(&partitions, states_schema.clone(), None)?;
                    return Ok(Transformed::new(
                        scan as Arc<dyn ExecutionPlan>,
                        true,
                        TreeNodeRecursion::Jump,
                    ));
                }
                Ok(Transformed::no(node))
            })?
            .data;
        self.run(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_read_from_parser_messages() {
        assert_eq!(
            position_in_message(
                "sql parser error: Expected: end of statement, found: x at Line: 2, Column: 14"
            ),
            Some((2, 14))
        );
        assert_eq!(position_in_message("no position"), None);
    }
}
