exec(open('analyse.py').read().split("key=[k")[0])
import collections
b1=reads[('svtrv2+beam','s1')]; b2=reads[('svtrv2+beam','s2')]
both=sum(1 for f in b1 if b1[f][2] and b2[f][2]); print('read s1',sum(v[2] for v in b1.values()),'s2',sum(v[2] for v in b2.values()),'both',both, 'either', sum(1 for f in b1 if b1[f][2] or b2[f][2]))
noE=[f for f in b1 if 'E' not in b1[f][0].upper()]
print('no-E words', len(noE), 's1', ci(sum(b1[f][2] for f in noE),len(noE)), 's2', ci(sum(b2[f][2] for f in noE),len(noE)))
t=collections.defaultdict(lambda:[0,0])
for f,(ans,r,ok) in list(b1.items())+list(b2.items()):
    g,b=meta[f]; sg='+' if b['tilt']>0 else '-'
    if len(r)!=len(ans): continue
    for x,c in zip(g,r.upper()):
        t[sg+' all'][0]+=(c==x['letter'] or {c,x['letter']}=={'E','Z'}); t[sg+' all'][1]+=1
        t[sg+' '+x['letter']][0]+=(c==x['letter'] or {c,x['letter']}=={'E','Z'}); t[sg+' '+x['letter']][1]+=1
for k in sorted(t, key=lambda k:(k[2:],k)): print(k, ci(*t[k]))
print('read files', [f for f in b1 if b1[f][2] and b2[f][2]][:12])
print('missed', [(f,b1[f][0],b1[f][1]) for f in b1 if not b1[f][2] and not b2[f][2]][:12])
f='type5_000.png'; print(meta[f][1]['tilt'])
