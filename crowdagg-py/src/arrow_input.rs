//! The Arrow C stream path (`__arrow_c_stream__`, pandas ≥ 2.2): the task, worker and label
//! columns arrive as Arrow arrays (zero-copy for pandas 3's Arrow-backed `str` columns) and
//! are factorized here by `crowdagg::io::ArrowEncoder` on all threads, with the GIL released.
//!
//! The codes are those of `pandas.factorize(sort=True)`: string columns in code-point (byte)
//! order, integer columns in numeric order. So the rest of the package cannot tell which path
//! coded a column, and ties still go where crowd-kit sends them.

use std::ffi::CStr;

use arrow_array::ffi_stream::{FFI_ArrowArrayStream, RecordBatchStreamReader};
use arrow_array::{Array, RecordBatch, RecordBatchReader};
use arrow_schema::DataType;
use crowdagg::error::DataError;
use crowdagg::io::{ArrowEncoder, Factorized, NameOrder, is_id_type};
use numpy::IntoPyArray;
use pyo3::exceptions::{PyKeyError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyList, PyTuple};

/// The capsule name the Arrow PyCapsule interface gives a stream.
const STREAM: &CStr = c"arrow_array_stream";

/// Factorizes the columns named `columns` (task, worker, label) of an Arrow C stream capsule.
///
/// Returns a list of three `(codes, names, is_integer)` tuples — `codes` an int64 array,
/// `names` the sorted distinct values (a list of str, or an int64 array when the column holds
/// integers) — or a string saying why this path does not apply (a column type other than
/// strings or integers, a null, an empty string): the caller then uses `pandas.factorize`,
/// which gives the same codes where this path applies and crowd-kit's errors where it does
/// not. A missing column raises `KeyError`; an internal error of the encoder (a bug)
/// `RuntimeError`.
#[pyfunction]
pub fn factorize_arrow<'py>(
    py: Python<'py>,
    capsule: &Bound<'py, PyCapsule>,
    columns: [String; 3],
) -> PyResult<Bound<'py, PyAny>> {
    let pointer = capsule.pointer_checked(Some(STREAM))?;
    // SAFETY: the capsule's name says it holds an `ArrowArrayStream` (the Arrow PyCapsule
    // interface); `from_raw` moves the struct out and leaves a released one behind, which the
    // capsule's destructor then ignores, as the interface prescribes for consumers.
    let stream = unsafe { FFI_ArrowArrayStream::from_raw(pointer.as_ptr().cast()) };
    let reader = RecordBatchStreamReader::try_new(stream).map_err(arrow_error)?;
    let schema = reader.schema();
    let mut at = [0usize; 3];
    for (slot, name) in at.iter_mut().zip(&columns) {
        *slot = schema
            .index_of(name)
            .map_err(|_| PyKeyError::new_err(name.clone()))?;
        let data_type = schema.field(*slot).data_type();
        if !is_id_type(data_type) {
            return reason(py, format!("column {name:?} has Arrow type {data_type}"));
        }
    }
    let orders = at.map(|i| name_order(schema.field(i).data_type()));
    let integer = orders.map(|o| o == NameOrder::Rule);
    // Batches are read with the GIL held (a producer may call back into Python); they are
    // zero-copy views, so this is quick.
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().map_err(arrow_error)?;
    let factorized = py.detach(|| {
        let mut encoder = ArrowEncoder::new();
        for batch in &batches {
            let [t, w, l] = at.map(|i| batch.column(i).as_ref() as &dyn Array);
            encoder.push(t, w, l).map_err(|e| Ok(e.to_string()))?;
        }
        // A bug of the encoder is raised, not hidden behind the pandas path; too many names
        // for this path (or any other data limit) goes to pandas.
        encoder.factorize(orders).map_err(|e| match e {
            DataError::Internal { .. } => Err(PyRuntimeError::new_err(e.to_string())),
            other => Ok(other.to_string()),
        })
    });
    let factorized = match factorized {
        Ok(f) => f,
        Err(Ok(message)) => return reason(py, message),
        Err(Err(bug)) => return Err(bug),
    };
    let out = PyList::empty(py);
    for (column, is_integer) in factorized.into_iter().zip(integer) {
        out.append(column_tuple(py, column, is_integer)?)?;
    }
    Ok(out.into_any())
}

/// Strings sort as Python sorts them (code points), integers numerically.
fn name_order(data_type: &DataType) -> NameOrder {
    let value = match data_type {
        DataType::Dictionary(_, value) => value.as_ref(),
        other => other,
    };
    if value.is_integer() {
        NameOrder::Rule
    } else {
        NameOrder::Bytes
    }
}

fn column_tuple<'py>(
    py: Python<'py>,
    column: Factorized,
    is_integer: bool,
) -> PyResult<Bound<'py, PyTuple>> {
    let Factorized { codes, names, .. } = column;
    let codes: Vec<i64> = py.detach(|| codes.into_iter().map(i64::from).collect());
    let codes = codes.into_pyarray(py).into_any();
    let names = if is_integer {
        // The names of an integer column are decimal spellings of i64 values.
        let values = names
            .iter()
            .map(|n| n.parse::<i64>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PyValueError::new_err(format!("integer name out of range: {e}")))?;
        values.into_pyarray(py).into_any()
    } else {
        PyList::new(py, names.iter().map(|n| &**n))?.into_any()
    };
    PyTuple::new(
        py,
        [
            codes,
            names,
            is_integer.into_pyobject(py)?.to_owned().into_any(),
        ],
    )
}

fn reason<'py>(py: Python<'py>, message: String) -> PyResult<Bound<'py, PyAny>> {
    Ok(message.into_pyobject(py)?.into_any())
}

fn arrow_error(error: arrow_schema::ArrowError) -> PyErr {
    PyValueError::new_err(format!("reading the Arrow stream: {error}"))
}
