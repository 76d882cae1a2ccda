import sys, math, collections
D='/tmp/pic-look'
FONT={0:'RobotoC',1:'OpenSans'}
ALPH='ABDEJKLMNRSTUVXYZ'
# trace: per interference picture in order type5..8 x 100: glyph lines then a bands line
pics=[]; cur=[]
for line in open(f'{D}/trace1.tsv'):
    f=line.rstrip('\n').split('\t')
    if f[0]=='glyph':
        cur.append(dict(font=int(f[1]),letter=ALPH[int(f[2])],scale=float(f[3]),cx=float(f[4]),cy=float(f[5]),angle=float(f[6]),shear=float(f[7]),squeeze=float(f[8]),w=float(f[9]),h=float(f[10])))
    else:
        v=list(map(float,f[1:]))
        b=dict(zip('period tilt amp freq phase spacing offset ripple rfreq rphase'.split(),v))
        pics.append((cur,b)); cur=[]
names=[f'type{t}_{i:03}.png' for t in (5,6,7,8) for i in range(100)]
meta=dict(zip(names,pics))
for n,(g,b) in meta.items():
    for x in g:
        y2=x['cy']+b['ripple']*math.sin(x['cy']*b['rfreq']+b['rphase'])
        e=b['offset']+math.tan(b['tilt'])*x['cx']+b['amp']*math.sin(x['cx']*b['freq']+b['phase'])
        x['bphase']=((y2-e)/b['spacing'])%1.0
reads=collections.defaultdict(dict)
for line in open(f'{D}/reads.tsv'):
    f=line.rstrip('\n').split('\t')
    row,prep,s,fn,ans,r,ok=f
    reads[(row,s)][fn]=(ans,r,int(ok))
print('rows',sorted(reads))
def ci(k,n):
    if n==0: return ''
    p=k/n; z=1.96; d=1+z*z/n; c=(p+z*z/2/n)/d; hw=z*math.sqrt(p*(1-p)/n+z*z/4/n/n)/d
    return f'{100*p:5.1f}% [{100*(c-hw):.1f},{100*(c+hw):.1f}] n={n}'
key=[k for k in reads if 'beam' in k[0]]
for k in sorted(reads):
    rs=reads[k]; print(k, 'whole', ci(sum(v[2] for v in rs.values()),len(rs)))
for k in sorted(key):
    rs=reads[k]
    print('\n====',k)
    tables=collections.defaultdict(lambda:[0,0])
    whole=collections.defaultdict(lambda:[0,0])
    for fn,(ans,r,ok) in rs.items():
        g,b=meta[fn]; n=len(ans)
        assert ''.join(x['letter'] for x in g)==ans.upper(), (fn,ans)
        fonts=''.join(str(x['font']) for x in g)
        whole['count=%d'%n][0]+=ok; whole['count=%d'%n][1]+=1
        whole['type=%s'%fn[4]][0]+=ok; whole['type=%s'%fn[4]][1]+=1
        nf=sum(x['font'] for x in g)
        whole['share OpenSans=%.1f'%(round(nf/n*2)/2)][0]+=ok; whole['share OpenSans=%.1f'%(round(nf/n*2)/2)][1]+=1
        per=b['period']/g[0]['h']
        whole['period/h %s'%('<.255' if per<.255 else '>=.255')][0]+=ok; whole['period/h %s'%('<.255' if per<.255 else '>=.255')][1]+=1
        tl=abs(b['tilt'])
        tk='tilt<37deg' if math.degrees(tl)<37.5 else 'tilt>=37deg'
        whole[tk][0]+=ok; whole[tk][1]+=1
        whole['tilt sign %s'%('+' if b['tilt']>0 else '-')][0]+=ok; whole['tilt sign %s'%('+' if b['tilt']>0 else '-')][1]+=1
        whole['squeeze %s'%('<1' if g[0]['squeeze']<0.999 else '=1')][0]+=ok; whole['squeeze %s'%('<1' if g[0]['squeeze']<0.999 else '=1')][1]+=1
        if len(r)!=n: continue
        for i,(x,c) in enumerate(zip(g,r.upper())):
            good = c==x['letter'] or {c,x['letter']}=={'E','Z'} or (x['letter'],c) in {('D','Q'),('D','O'),('T','I'),('R','P'),('E','F'),('Y','V'),('Z','X'),('R','B'),('M','N'),('M','H')}
            for t in ('font '+FONT[x['font']], 'letter '+x['letter'], f'pos {i+1}/{n}', 'pos '+('first' if i==0 else 'last' if i==n-1 else 'mid'),
                      'bphase %.1f'%(math.floor(x['bphase']*5)/5), 'scale %.2f'%(round(x['scale']*x['squeeze']*20)/20),
                      'angle %s'%('|a|<.025' if abs(x['angle'])<.025 else '|a|>=.025')):
                tables[t][0]+=good; tables[t][1]+=1
    for t in sorted(whole): print('  whole', t, ci(*whole[t]))
    for t in sorted(tables): print('  letter', t, ci(*tables[t]))
    conf=collections.Counter()
    for fn,(ans,r,ok) in rs.items():
        if len(r)==len(ans):
            for a,c in zip(ans.upper(),r.upper()):
                if a!=c: conf[a+'>'+c]+=1
    print('  confusions', conf.most_common(15))
