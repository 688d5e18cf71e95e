//! [`BcsCodec`]: gRPC messages as BCS, with the size checked before decoding.

use std::marker::PhantomData;

use bytes::{Buf, BufMut};
use serde::{de::DeserializeOwned, Serialize};
use skein_base::{encoding, limits};
use tonic::{
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    Status,
};

/// Encodes `E` and decodes `D` as BCS.
pub struct BcsCodec<E, D>(PhantomData<fn(E) -> D>);

impl<E, D> Default for BcsCodec<E, D> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<E, D> Codec for BcsCodec<E, D>
where
    E: Serialize + Send + 'static,
    D: DeserializeOwned + Send + 'static,
{
    type Encode = E;
    type Decode = D;
    type Encoder = BcsEncoder<E>;
    type Decoder = BcsDecoder<D>;

    fn encoder(&mut self) -> Self::Encoder {
        BcsEncoder(PhantomData)
    }

    fn decoder(&mut self) -> Self::Decoder {
        BcsDecoder(PhantomData)
    }
}

/// The encoding half of [`BcsCodec`].
pub struct BcsEncoder<E>(PhantomData<fn(E)>);

impl<E: Serialize> Encoder for BcsEncoder<E> {
    type Item = E;
    type Error = Status;

    fn encode(&mut self, item: E, destination: &mut EncodeBuf<'_>) -> Result<(), Status> {
        let bytes = bcs::to_bytes(&item).map_err(|error| Status::internal(error.to_string()))?;
        destination.put_slice(&bytes);
        Ok(())
    }
}

/// The decoding half of [`BcsCodec`]: refuses messages above
/// [`limits::REQUEST_BYTES_MAX`] and malformed bytes with `INVALID_ARGUMENT`.
pub struct BcsDecoder<D>(PhantomData<fn() -> D>);

impl<D: DeserializeOwned> Decoder for BcsDecoder<D> {
    type Item = D;
    type Error = Status;

    fn decode(&mut self, source: &mut DecodeBuf<'_>) -> Result<Option<D>, Status> {
        let bytes = source.copy_to_bytes(source.remaining());
        encoding::decode("message", &bytes, limits::REQUEST_BYTES_MAX)
            .map(Some)
            .map_err(|error| Status::invalid_argument(error.to_string()))
    }
}
