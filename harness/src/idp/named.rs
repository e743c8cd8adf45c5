//! A setting that is either a named fault (`id_token = "bad-signature"`) or its open form (a
//! table), deserialized with the inner type's own error messages.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A shorthand by name, or the open form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NamedOr<N, O> {
    /// A named fault, written as a string.
    Named(N),
    /// The open form, written as a table.
    Open(O),
}

impl<N: Default, O> Default for NamedOr<N, O> {
    fn default() -> Self {
        NamedOr::Named(N::default())
    }
}

impl<'de, N: Deserialize<'de>, O: Deserialize<'de>> Deserialize<'de> for NamedOr<N, O> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Either<N, O>(PhantomData<(N, O)>);
        impl<'de, N: Deserialize<'de>, O: Deserialize<'de>> Visitor<'de> for Either<N, O> {
            type Value = NamedOr<N, O>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a name (a string) or a table")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
                N::deserialize(name.into_deserializer()).map(NamedOr::Named)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                O::deserialize(de::value::MapAccessDeserializer::new(map)).map(NamedOr::Open)
            }
        }
        deserializer.deserialize_any(Either(PhantomData))
    }
}

impl<N: Serialize, O: Serialize> Serialize for NamedOr<N, O> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            NamedOr::Named(name) => name.serialize(serializer),
            NamedOr::Open(open) => open.serialize(serializer),
        }
    }
}
