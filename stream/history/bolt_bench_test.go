package history

import (
	"encoding/binary"

	bolt "go.etcd.io/bbolt"

	"github.com/iocwatch/iocwatch/stream"
)

// boltWriter is the alternative BenchmarkWriteThroughput measures the
// segment log against: observations in a bbolt database, one key per
// observation (its sequence number, big endian, so that keys are
// appended), 4096 observations per transaction, without fsync per
// transaction (the segment log does not sync per block either), pages
// filled to 100% (sequential keys). With dict, the values are the segment
// log's record encoding, new device, process, account and action entries
// go to a second bucket, and the remote IP and URL are entries of the
// record itself; without, the strings are inline (uvarint length · bytes).
type boltWriter struct {
	db   *bolt.DB
	dict bool
	enc  *encoder
	buf  *buffer
	seq  uint64
	val  []byte
}

var (
	obsBucket  = []byte("obs")
	dictBucket = []byte("dict")
)

func openBoltWriter(path string, dict bool) (*boltWriter, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{NoSync: true, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, err
	}
	return &boltWriter{db: db, dict: dict, enc: newEncoder(), buf: newBuffer(DefaultBufferRecords, DefaultBufferRecords*arenaPerRecord)}, nil
}

func (w *boltWriter) add(evs []stream.Event) error {
	for i := range evs {
		if observable(&evs[i]) {
			w.buf.add(&evs[i])
		}
	}
	if len(w.buf.recs) >= DefaultBufferRecords {
		return w.flush()
	}
	return nil
}

func (w *boltWriter) flush() error {
	if len(w.buf.recs) == 0 {
		return nil
	}
	err := w.db.Update(func(tx *bolt.Tx) error {
		obs, err := tx.CreateBucketIfNotExists(obsBucket)
		if err != nil {
			return err
		}
		obs.FillPercent = 1
		var dict *bolt.Bucket
		if w.dict {
			if dict, err = tx.CreateBucketIfNotExists(dictBucket); err != nil {
				return err
			}
			dict.FillPercent = 1
		}
		var key [8]byte
		for i := range w.buf.recs {
			r := &w.buf.recs[i]
			w.seq++
			binary.BigEndian.PutUint64(key[:], w.seq)
			if w.dict {
				for k := range w.enc.dict {
					w.enc.dict[k] = w.enc.dict[k][:0]
					w.enc.dictN[k] = 0
				}
				w.enc.recs = w.enc.recs[:0]
				// Remote IPs and URLs are dictionary entries of the record
				// itself (a block of one).
				w.enc.ips.reset(1)
				w.enc.urls.reset(1)
				w.enc.record(w.buf, r, 0)
				for k := range w.enc.dict {
					if w.enc.dictN[k] > 0 {
						// Keyed by kind and the observation that added it.
						dk := append([]byte{byte(k)}, key[:]...)
						if err := dict.Put(dk, w.enc.dict[k]); err != nil {
							return err
						}
					}
				}
				if err := obs.Put(key[:], w.enc.recs); err != nil {
					return err
				}
				continue
			}
			v := w.val[:0]
			v = append(v, byte(r.table))
			v = binary.AppendVarint(v, r.ts)
			v = binary.AppendVarint(v, r.reportID)
			v = binary.AppendUvarint(v, uint64(r.port))
			v = append(append(v, r.ipLen), r.ip[16-r.ipLen:]...)
			for s := range numStr {
				v = appendStr(v, w.buf.str(r, s))
			}
			w.val = v
			if err := obs.Put(key[:], v); err != nil {
				return err
			}
		}
		return nil
	})
	w.buf.reset()
	return err
}

func (w *boltWriter) close() error { return w.db.Close() }
