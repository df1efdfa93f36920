// The kernel's floor under `river-bench --only sessions`: what answering an idle session's
// heartbeats costs with no River, WebSocket or lws code at all. N loopback TCP connections
// (TCP_NODELAY); a child process sends one SIZE-byte message per connection per second, BURST
// at a time (River's client saw about 3 heartbeats per wake-up with 500 sessions); this
// process sleeps in epoll, reads each message and writes it back, and prints its own CPU
// (getrusage) per echo and in % of one core over WINDOW seconds after 2 s of warm-up:
//
//   gcc -O2 -o .build/echo-floor Benchmarks/tools/echo-floor.c
//   .build/echo-floor 500 90 3 10      # N SIZE BURST WINDOW
//
// Comparing BURST 1 and 3 separates the cost per echo (send and receive; a loopback send
// also carries the receiver's TCP processing) from the cost per wake-up.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
static double cpu(void){struct rusage r;getrusage(RUSAGE_SELF,&r);return r.ru_utime.tv_sec+r.ru_utime.tv_usec/1e6+r.ru_stime.tv_sec+r.ru_stime.tv_usec/1e6;}
int main(int argc,char**argv){
  int n=argc>1?atoi(argv[1]):500, size=argc>2?atoi(argv[2]):90, burst=argc>3?atoi(argv[3]):1; double window=argc>4?atof(argv[4]):10;
  int ls=socket(AF_INET,SOCK_STREAM,0); struct sockaddr_in a={.sin_family=AF_INET,.sin_addr.s_addr=htonl(0x7f000001)}; socklen_t al=sizeof a;
  bind(ls,(void*)&a,sizeof a); listen(ls,1024); getsockname(ls,(void*)&a,&al);
  int *c=malloc(n*sizeof(int)), *s=malloc(n*sizeof(int)); int one=1;
  for(int i=0;i<n;i++){c[i]=socket(AF_INET,SOCK_STREAM,0); connect(c[i],(void*)&a,sizeof a); s[i]=accept(ls,0,0);
    setsockopt(c[i],IPPROTO_TCP,TCP_NODELAY,&one,4); setsockopt(s[i],IPPROTO_TCP,TCP_NODELAY,&one,4);}
  pid_t pid=fork();
  if(pid==0){ // peer: sends heartbeats, drains echoes
    char buf[4096]; memset(buf,'h',sizeof buf); int next=0; double period=(double)burst/n, t=now();
    for(;;){ t+=period; double d=t-now(); if(d>0){struct timespec ts={(time_t)d,(long)((d-(time_t)d)*1e9)};nanosleep(&ts,0);}
      for(int b=0;b<burst;b++){ send(s[next],buf,size,MSG_DONTWAIT); recv(s[next],buf,sizeof buf,MSG_DONTWAIT); next=(next+1)%n; } }
  }
  int ep=epoll_create1(0); for(int i=0;i<n;i++){struct epoll_event e={.events=EPOLLIN,.data.fd=c[i]}; epoll_ctl(ep,EPOLL_CTL_ADD,c[i],&e);}
  struct epoll_event ev[64]; char buf[4096]; long echoes=0, wakes=0; double start=0,cpu0=0; double t0=now();
  for(;;){ int k=epoll_wait(ep,ev,64,100); wakes++;
    for(int i=0;i<k;i++){ ssize_t r=recv(ev[i].data.fd,buf,sizeof buf,0); if(r>0){send(ev[i].data.fd,buf,r,MSG_NOSIGNAL); if(start>0)echoes++;} }
    double t=now(); if(start==0 && t-t0>2){start=t;cpu0=cpu();echoes=0;wakes=0;}
    if(start>0 && t-start>window) break; }
  double used=cpu()-cpu0, el=now()-start;
  printf("n=%d size=%d burst=%d echoes/s=%.0f wakes/s=%.0f cpu=%.2f%% us_per_echo=%.2f\n",n,size,burst,echoes/el,wakes/el,100*used/el,1e6*used/echoes);
  kill(pid,SIGKILL); waitpid(pid,0,0); return 0; }
