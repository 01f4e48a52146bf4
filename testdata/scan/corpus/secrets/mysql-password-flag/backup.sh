mysqldump -h db.internal -u root -phNZHvXNbPp0ZReJw shop > shop.sql

mysqldump -h db.internal -u root -pRQ5EzzJn9QzCUMOG shop > shop.sql
