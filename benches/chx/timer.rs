//! Timing statements in interleaved rounds: every statement of a data set is registered first
//! (its warm-up run gives its rows and what it read), then each round runs each statement once.
//! The machine is shared, and a busy spell used to land on all five runs of whichever
//! statement was being timed (one run took the 10M funnel from 320 to 440 ms against
//! unchanged neighbours); in rounds it costs every statement at most one sample, which the
//! median drops.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::Instant;

use chx::engine::Engine;
use chx::sql::Statement;

use super::{Timing, median};

struct Entry {
    statement: Statement,
    rows: usize,
    read_rows: i64,
    read_bytes: i64,
    samples: Vec<f64>,
}

impl Entry {
    /// The median of the rounds so far (0 before any), and what the warm-up run read.
    fn timing(&self) -> Timing {
        Timing {
            ms: if self.samples.is_empty() {
                0.0
            } else {
                median(self.samples.clone())
            },
            rows: self.rows,
            read_rows: self.read_rows,
            read_bytes: self.read_bytes,
        }
    }
}

pub(crate) struct Timer<'e> {
    engine: &'e Engine,
    entries: RefCell<Vec<Entry>>,
    by_key: RefCell<HashMap<String, usize>>,
    registering: Cell<bool>,
}

impl<'e> Timer<'e> {
    pub(crate) fn new(engine: &'e Engine) -> Self {
        Timer {
            engine,
            entries: RefCell::default(),
            by_key: RefCell::default(),
            registering: Cell::new(true),
        }
    }

    /// While registering: the warm-up run of a statement not seen before, and a zero timing.
    /// After [`Self::run_rounds`]: the statement's timing. A statement is timed once per data
    /// set, whichever tables show it, so it has one time in all of them.
    pub(crate) fn time(&self, st: &Statement) -> Timing {
        let key = format!("{:?}\n{}", st.params, st.sql);
        if let Some(&i) = self.by_key.borrow().get(&key) {
            return self.entries.borrow()[i].timing();
        }
        assert!(
            self.registering.get(),
            "a statement first seen after the rounds: both passes must time the same ones\n{}",
            st.sql
        );
        let before = self.read_counters();
        let rows = self.engine.run(st.clone()).unwrap().len();
        let after = self.read_counters();
        let entry = Entry {
            statement: st.clone(),
            rows,
            read_rows: after.0 - before.0,
            read_bytes: after.1 - before.1,
            samples: Vec::new(),
        };
        let timing = entry.timing();
        let mut entries = self.entries.borrow_mut();
        self.by_key.borrow_mut().insert(key, entries.len());
        entries.push(entry);
        timing
    }

    /// `rounds` runs of every registered statement, one statement after another per round.
    pub(crate) fn run_rounds(&self, rounds: usize) {
        self.registering.set(false);
        for _ in 0..rounds {
            for e in self.entries.borrow_mut().iter_mut() {
                let t = Instant::now();
                self.engine.run(e.statement.clone()).unwrap();
                e.samples.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
    }

    /// The embedded engine keeps no query_log; its process-wide ProfileEvents counters
    /// (system.events) give the rows and bytes a run read, one query at a time.
    fn read_counters(&self) -> (i64, i64) {
        let r = self
            .engine
            .run("SELECT sumIf(value, event = 'SelectedRows'), sumIf(value, event = 'SelectedBytes') FROM system.events")
            .unwrap();
        (
            r.rows[0][0].as_i64().unwrap_or_default(),
            r.rows[0][1].as_i64().unwrap_or_default(),
        )
    }
}
