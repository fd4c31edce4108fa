# After a power cut during file-loop.yaml: is /flash mounted, is log.txt whole?
import os
try:
    names = os.listdir('/flash')
except Exception as e:
    names = None
    print('file system unreadable: %r' % (e,))
if names is not None:
    if 'log.txt' not in names:
        print('log.txt absent (file system fine)')
    else:
        d = open('/flash/log.txt').read()
        lines = d.split('\n')
        tail = lines.pop()
        good = all(l == 'line %03d ' % i + 'x' * 90 for i, l in enumerate(lines))
        if good and tail == '':
            print('log.txt intact (whole lines)')
        elif good:
            print('log.txt intact but last line partial')
        else:
            print('log.txt torn')
