"""slarisk.data"""
