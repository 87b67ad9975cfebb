export * from './mariadb-server';
