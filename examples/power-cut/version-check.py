# After a power cut: which firmware answers, and from which slot the record says it runs.
import os, pycom
print(os.uname().release, pycom.bootmgr()[0], pycom.bootmgr()[3])
