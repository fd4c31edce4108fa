# After a power cut during nvs-loop.yaml: which NVS values survived, torn or lost.
import pycom
def g(k):
    try:
        return pycom.nvs_get(k)
    except Exception:
        return None
c = g('count')
ks = [g('k%d' % j) for j in range(4)]
if c is None:
    r = 'count absent'
elif isinstance(c, int) and 0 <= c < 150:
    r = 'count survived'
else:
    r = 'count torn (%r)' % (c,)
ok = all(v is None or (isinstance(v, int) and v % 1000 == 0 and (v // 1000) % 4 == j and v // 1000 <= (c if c is not None else -1) + 1) for j, v in enumerate(ks))
print(r + ('; k0..k3 consistent with it' if ok else '; k0..k3 torn: %r' % (ks,)))
